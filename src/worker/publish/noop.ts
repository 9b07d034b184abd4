import type { CrashPublisher } from './crash-publisher';

/** Publishes nothing: the embedded default, for a collector without processors. */
export function createNoopPublisher(): CrashPublisher {
  return {
    name: 'NoOpCrashPublish',
    async publish() {},
    async verify() {},
    async checkHealth() {},
    async close() {},
  };
}
