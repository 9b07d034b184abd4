/** Annotations plus the collector's own fields, as stored under `v1/raw_crash/…`. */
export type RawCrash = Record<string, unknown> & {
  uuid?: string;
  metadata?: Record<string, unknown>;
};

/** A crash ready to be saved: what the crashmover moves and the storage writes. */
export interface CrashReport {
  crashId: string;
  rawCrash: RawCrash;
  /** Sanitized dump name → bytes, exactly as received. */
  dumps: Map<string, Buffer>;
}
