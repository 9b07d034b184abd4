import type { CrashReport } from '../../shared/crash-report';

/** The storage seam: one implementation per backend (fs, noop, gcs, s3). */
export interface CrashStorage {
  /** Name used in `/__heartbeat__` errors, e.g. `FSCrashStorage`. */
  readonly name: string;
  /** Saves dumps and dump_names first, the raw crash last. Throws on failure. */
  save(crash: CrashReport): Promise<void>;
  /** Start-up check: writes `test/testfile-<uuid>.txt`. Throws with the reason. */
  verify(): Promise<void>;
  /** Cheap health probe for `/__heartbeat__`. Throws with the reason when unhealthy. */
  checkHealth(): Promise<void>;
  close(): Promise<void>;
}
