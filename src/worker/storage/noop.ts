import type { CrashStorage } from './crash-storage';

/** Keeps nothing: for benchmarks and for collectors that only count crashes. */
export function createNoopStorage(): CrashStorage {
  return {
    name: 'NoOpCrashStorage',
    async save() {},
    async verify() {},
    async checkHealth() {},
    async close() {},
  };
}
