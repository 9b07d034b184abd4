import { byteLength, type CrashReport } from '../crash-report';
import { KindedError } from '../failure';
import { stringifyJson } from '../json-safe';

/**
 * One spool entry in one file: a magic, the header length, a JSON header
 * (crash id, raw crash, dump names and sizes), then the dumps' bytes as
 * received. One write and one fsync per crash.
 */
const MAGIC = Buffer.from('ANTSPL01');

interface Header {
  crashId: string;
  rawCrash: CrashReport['rawCrash'];
  dumps: Array<[name: string, size: number]>;
}

/** The entry's bytes; throws a `permanent` KindedError when the raw crash cannot be written as JSON. */
export function encodeEntry(crash: CrashReport): Buffer[] {
  const header: Header = { crashId: crash.crashId, rawCrash: crash.rawCrash, dumps: [...crash.dumps].map(([n, d]) => [n, byteLength(d)]) };
  let json: Buffer;
  try {
    // Iterative: the raw crash may nest as deep as JSON.parse allowed, past what JSON.stringify's recursion survives.
    json = Buffer.from(stringifyJson(header));
  } catch (err) {
    throw new KindedError('permanent', 'unserializable', `${crash.crashId}: the raw crash cannot be written as JSON: ${(err as Error).message}`, {
      cause: err,
    });
  }
  const len = Buffer.alloc(4);
  len.writeUInt32BE(json.length);
  return [MAGIC, len, json, ...[...crash.dumps.values()].flatMap((d) => (Buffer.isBuffer(d) ? [d] : d))];
}

/** An entry that cannot be decoded: no retry can fix it, so the spool quarantines it. */
export class CorruptEntryError extends KindedError {
  constructor(why: string) {
    super('permanent', 'corrupt_entry', `corrupt spool entry: ${why}`);
    this.name = 'CorruptEntryError';
  }
}

export function decodeEntry(buf: Buffer): CrashReport {
  if (buf.length < MAGIC.length + 4 || !buf.subarray(0, MAGIC.length).equals(MAGIC)) throw new CorruptEntryError('bad magic');
  const len = buf.readUInt32BE(MAGIC.length);
  const start = MAGIC.length + 4;
  if (start + len > buf.length) throw new CorruptEntryError('header runs past the end');
  let header: Header;
  try {
    header = JSON.parse(buf.subarray(start, start + len).toString()) as Header;
  } catch {
    throw new CorruptEntryError('header is not JSON');
  }
  if (typeof header !== 'object' || header === null || !Array.isArray(header.dumps)) throw new CorruptEntryError('header has no dump list');
  const dumps = new Map<string, Buffer>();
  let offset = start + len;
  for (const [name, size] of header.dumps) {
    if (offset + size > buf.length) throw new CorruptEntryError(`dump ${name} runs past the end`);
    dumps.set(name, buf.subarray(offset, offset + size));
    offset += size;
  }
  if (offset !== buf.length) throw new CorruptEntryError('trailing bytes');
  return { crashId: header.crashId, rawCrash: header.rawCrash, dumps };
}
