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
  dumps: Map<string, Bytes>;
}

/**
 * Bytes as received: one buffer, or the chunks they arrived in (a dump is
 * kept as its chunks so that it is never copied whole on the request path).
 */
export type Bytes = Buffer | readonly Buffer[];

export const byteLength = (b: Bytes): number => (Buffer.isBuffer(b) ? b.length : b.reduce((n, c) => n + c.length, 0));

/** One buffer of the bytes (a copy when they are chunks): for clients that want a single Buffer. */
export const toBuffer = (b: Bytes): Buffer => (Buffer.isBuffer(b) ? b : b.length === 1 ? b[0]! : Buffer.concat(b));
