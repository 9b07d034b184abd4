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
  /**
   * For a sink to call once nothing it started reads the dumps' bytes any
   * more (every write settled): their memory is then freed at once instead
   * of by the GC. A sink that does not call it changes nothing but memory.
   */
  doneWithBytes?: () => void;
}

/**
 * Bytes as received: one buffer, or the chunks they arrived in (a dump is
 * kept as its chunks so that it is never copied whole on the request path).
 */
export type Bytes = Buffer | readonly Buffer[];

export const byteLength = (b: Bytes): number => (Buffer.isBuffer(b) ? b.length : b.reduce((n, c) => n + c.length, 0));

/** One buffer of the bytes (a copy when they are chunks): for clients that want a single Buffer. */
export const toBuffer = (b: Bytes): Buffer => (Buffer.isBuffer(b) ? b : b.length === 1 ? b[0]! : Buffer.concat(b));

/**
 * The name a dump is stored under (`v1/<name>/<crash id>`, SPEC §2): the main
 * minidump's field (`BREAKPAD_DUMP_FIELD`) is stored as `dump`. Two dumps of
 * one crash that map to the same name would overwrite each other in storage,
 * so a crash with both is refused (`malformed_invalid_dump_name`).
 */
export const storedDumpName = (dumpName: string, dumpField: string): string => (dumpName === dumpField || dumpName === '' ? 'dump' : dumpName);

/** A dump name that shares its stored name with another dump of the same crash, or undefined. */
export function collidingDumpName(dumpNames: Iterable<string>, dumpField: string): string | undefined {
  const seen = new Set<string>();
  for (const name of dumpNames) {
    const stored = storedDumpName(name, dumpField);
    if (seen.has(stored)) return name;
    seen.add(stored);
  }
  return undefined;
}
