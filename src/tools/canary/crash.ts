/**
 * The synthetic crash a canary sends, and the check of what storage holds for
 * it. Pure: building and verifying need no server.
 */
import { createHash, randomBytes } from 'node:crypto';

/** The annotation that marks a crash as synthetic; processors can drop crashes that carry it. */
export const CANARY_MARKER = 'AntennaCanary';
export const CANARY_RUN = 'AntennaCanaryRun';
export const CANARY_SEQ = 'AntennaCanarySeq';
/** The form field of the dump; the collector stores it under `BREAKPAD_DUMP_FIELD`'s key (`v1/dump/<id>` by default). */
export const CANARY_DUMP_FIELD = 'upload_file_minidump';

export interface CanaryCrash {
  seq: number;
  annotations: Record<string, string>;
  dump: Buffer;
  /** sha256 hex of the dump, as the collector records it in metadata.dump_checksums. */
  dumpSha256: string;
}

export function buildCrash(opts: { runId: string; seq: number; product: string; dumpSize: number; extra?: Record<string, string> }): CanaryCrash {
  // Starts like a minidump so that nothing downstream mistakes it for text; the rest is random.
  const dump = Buffer.concat([Buffer.from('MDMP'), randomBytes(Math.max(0, opts.dumpSize - 4))]).subarray(0, opts.dumpSize);
  const annotations = {
    ProductName: opts.product,
    Version: '1.0',
    ...opts.extra,
    [CANARY_MARKER]: '1',
    [CANARY_RUN]: opts.runId,
    [CANARY_SEQ]: String(opts.seq),
  };
  return { seq: opts.seq, annotations, dump, dumpSha256: createHash('sha256').update(dump).digest('hex') };
}

/** What storage holds for one crash id, as read back. */
export interface StoredCrash {
  rawCrash: Buffer;
  dump: Buffer | undefined;
  dumpNames: Buffer | undefined;
}

/**
 * Why the stored crash is not the one sent, or undefined when it is: the
 * marker and run id, the dump bytes, the recorded checksum and dump_names.
 * Messages name what differs, never annotation values or bytes.
 */
export function verifyStored(crash: CanaryCrash, stored: StoredCrash): string | undefined {
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(stored.rawCrash.toString('utf8')) as Record<string, unknown>;
  } catch {
    return 'raw crash is not JSON';
  }
  if (raw[CANARY_MARKER] !== '1' || raw[CANARY_RUN] !== crash.annotations[CANARY_RUN] || raw[CANARY_SEQ] !== String(crash.seq)) {
    return `raw crash lacks this run's ${CANARY_MARKER} annotations`;
  }
  const checksums = (raw.metadata as { dump_checksums?: Record<string, unknown> } | undefined)?.dump_checksums;
  if (checksums?.[CANARY_DUMP_FIELD] !== crash.dumpSha256) return 'metadata.dump_checksums does not match the dump sent';
  if (!stored.dump) return 'dump missing';
  if (!stored.dump.equals(crash.dump)) return `dump bytes differ (${stored.dump.length} stored, ${crash.dump.length} sent)`;
  let names: unknown;
  try {
    names = JSON.parse(stored.dumpNames?.toString('utf8') ?? 'null');
  } catch {
    names = null;
  }
  if (!Array.isArray(names) || !names.includes(CANARY_DUMP_FIELD)) return `dump_names missing or without ${CANARY_DUMP_FIELD}`;
  return undefined;
}
