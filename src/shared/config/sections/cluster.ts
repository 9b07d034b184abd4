import os from 'node:os';
import { choice, int } from '../option';

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
  schedulingPolicy: choice<'none' | 'rr'>({
    env: 'CLUSTER_SCHEDULING_POLICY',
    default: 'none',
    values: ['none', 'rr'],
    doc: 'How new connections reach the workers. `none`: every worker accepts from the shared socket, so a worker busy with uploads leaves new connections (health probes included) to an idle one; `rr`: the primary accepts and hands connections out in turn (Node’s default on Linux), which spreads idle connections evenly but queues a probe behind a busy worker. `none` kept `/__lbheartbeat__` p99 at 21–37 ms under 4 MB load where `rr` gave 160–600 ms, at the same crashes/s (docs/performance.md). The cost: connections opened in a burst (a balancer filling its pool) can land on a few workers and stay there; if the balancer keeps connections for long and saves wait on a remote store, watch the per-worker `save_queue_size` in `/__heartbeat__` and prefer `rr` when it is uneven.',
  }),
  workerSemiSpaceMb: int({
    env: 'WORKER_MAX_SEMI_SPACE_MB',
    default: 4,
    min: 0,
    max: 256,
    doc: 'V8 young-generation semi-space of each worker, in MiB (`--max-semi-space-size`); 0 leaves V8’s default (16 MiB on 64-bit). A request’s garbage dies young, so a small nursery costs no CPU, while V8’s default lets every busy worker grow by ~40 MB: 4 cut the 5-worker tree’s peak RSS from 461/555 to 419/470 MB at 4 KB/400 KB with CPU per crash unchanged (docs/performance.md). Ignored when NODE_OPTIONS or the primary’s own flags already set it.',
  }),
  workerInitialOldSpaceMb: int({
    env: 'WORKER_INITIAL_OLD_SPACE_MB',
    default: 0,
    min: 0,
    max: 4096,
    doc: 'V8 old-generation size each worker starts with, in MiB (`--initial-old-space-size`); 0 leaves V8’s default. A trade of memory for CPU with large dumps, off by default: upload chunks that live across two young GCs reach the old generation, where only a full GC frees them, and with V8’s default a full GC comes every few 4 MB crashes, each moving the chunks of the uploads still in flight there too. 64 stops that cycle at 3–4 uploads in flight per worker: on Node 20, 4 MB CPU per crash 7.8–9.0 → 5.5–6.4 ms (5 workers, 16 connections), on Node 22 7.1–7.4 → 6.3–6.5 ms; but dead chunks then wait longer for their GC, and the tree’s peak RSS rose by 60–120 MB at 400 KB and 4 MB, past the memory budget the bench checks (docs/performance.md). Worth setting where nodes are CPU-bound on large dumps and have the memory. Ignored when NODE_OPTIONS or the primary’s own flags already set it.',
  }),
  workerMallocKeepMb: int({
    env: 'WORKER_MALLOC_KEEP_MB',
    default: 8,
    min: 0,
    max: 64,
    doc: 'Freed memory, in MiB, that glibc keeps in each heap of a worker instead of giving it back to the kernel (its trim threshold; its mmap threshold becomes half of it), set once the worker has received an upload of 1 MiB or more; 0 leaves glibc’s own (128 KiB, adaptive). Without it, a 4 MB upload’s memory went back to the kernel when the crash was saved and was faulted in again by the next: 140–300 page faults and ~0.5 ms per 4 MB crash with several uploads per worker (5 workers, 4 MB, 16 connections spread evenly: 4.67–4.77 → 4.18–4.26 CPU ms per crash; docs/performance.md). A worker that never gets a large upload is unchanged. Without effect when `MALLOC_TRIM_THRESHOLD_` or `MALLOC_MMAP_THRESHOLD_` is set (glibc then uses those) and on musl.',
  }),
  gracefulTimeoutSeconds: int({
    env: 'GRACEFUL_TIMEOUT',
    default: 30,
    min: 1,
    doc: 'On SIGTERM/SIGINT, seconds the workers get to finish in-flight uploads and drain their save queues before they are killed.',
  }),
  workerStartTimeoutSeconds: int({
    env: 'WORKER_START_TIMEOUT',
    default: 30,
    min: 1,
    doc: 'On SIGHUP, seconds each new worker gets to start listening before the old one it replaces is asked to stop; a new worker that does not make it stops the reload, and the old workers keep serving.',
  }),
  restartMaxBackoffSeconds: int({
    env: 'WORKER_RESTART_MAX_BACKOFF',
    default: 10,
    min: 1,
    doc: 'A worker that dies before it listens is replaced after 100 ms, doubled for each other such death within `CRASH_LOOP_WINDOW`, up to this many seconds; a worker that was listening is replaced at once, whatever killed it. Also the wait between two attempts when workers keep dying at start-up while others serve, and when no worker process can be started (out of memory, or the process or open-file limit reached).',
  }),
  crashLoopDeaths: int({
    env: 'CRASH_LOOP_DEATHS',
    default: 5,
    min: 2,
    doc: 'This many workers dying before they listen, within `CRASH_LOOP_WINDOW`, is a crash loop (deaths of workers that were listening do not count). With no worker listening the primary gives up and exits 1 with the reason (a bad deploy fails visibly instead of looping); with some listening it logs the reason, keeps them serving and tries again every `WORKER_RESTART_MAX_BACKOFF`.',
  }),
  crashLoopWindowSeconds: int({
    env: 'CRASH_LOOP_WINDOW',
    default: 30,
    min: 1,
    doc: 'Seconds over which deaths of workers before they listen count towards `CRASH_LOOP_DEATHS` and the restart back-off.',
  }),
  startupTimeoutSeconds: int({
    env: 'STARTUP_TIMEOUT',
    default: 60,
    min: 1,
    doc: 'Seconds the primary’s start-up checks (port, TLS files, directories, the storage test file and the test publish) may take before the start fails with a line naming what did not answer, instead of hanging.',
  }),
  workerTimeoutSeconds: int({
    env: 'WORKER_TIMEOUT',
    aliases: ['GUNICORN_TIMEOUT'],
    default: 30,
    min: 0,
    doc: 'A worker that has sent the primary no report for this many seconds (its event loop is stuck) is killed and replaced, like gunicorn’s `timeout` (a worker still starting gets `WORKER_START_TIMEOUT` if that is longer); messages for it stop piling up in the primary meanwhile. Draining workers keep reporting, so this never cuts a drain short. `0` never kills.',
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
  healthCheckTimeoutSeconds: int({
    env: 'HEALTH_CHECK_TIMEOUT',
    default: 5,
    min: 1,
    doc: 'Seconds one backend check may take before it counts as failed (at most `HEALTH_CHECK_INTERVAL`; the backend’s own `…_TIMEOUT` if that is smaller).',
  }),
};
