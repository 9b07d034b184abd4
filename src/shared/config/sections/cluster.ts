import os from 'node:os';
import { int } from '../option';

export function defaultWorkerCount(): number {
  return 2 * Math.max(1, os.availableParallelism?.() ?? os.cpus().length) + 1;
}

/** The primary process and its workers. */
export const clusterOptions = {
  workers: int({
    env: 'WORKERS',
    aliases: ['GUNICORN_WORKERS'],
    default: defaultWorkerCount(),
    defaultDoc: '2 × CPUs + 1',
    min: 1,
    max: 256,
    doc: 'Worker processes forked by the primary.',
  }),
  gracefulTimeoutSeconds: int({
    env: 'GRACEFUL_TIMEOUT',
    default: 30,
    min: 1,
    doc: 'On SIGTERM/SIGINT, seconds the workers get to finish in-flight uploads and drain their save queues before they are killed.',
  }),
  heartbeatIntervalMs: int({
    env: 'HEARTBEAT_INTERVAL',
    default: 1000,
    min: 50,
    doc: 'Milliseconds between two reports of a worker to the primary (save queue, in-flight, health).',
  }),
  healthCheckIntervalSeconds: int({
    env: 'HEALTH_CHECK_INTERVAL',
    default: 10,
    min: 1,
    doc: 'Seconds between two checks of the storage and publish backends; `/__heartbeat__` answers from the last result.',
  }),
};
