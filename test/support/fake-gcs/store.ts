/** What the fake GCS server holds: buckets and their objects, with the checksums GCS reports, and the order of writes. */
import { createHash } from 'node:crypto';
import type { StoredGcsObject } from './types';
import { badRequest, notFound } from './wire';

// --- checksums: CRC32C (Castagnoli), as GCS reports it (big-endian, base64) ---

const CRC32C_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

export function crc32c(data: Buffer): number {
  let crc = 0xffffffff;
  for (const byte of data) crc = CRC32C_TABLE[(crc ^ byte) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

export function crc32cBase64(data: Buffer): string {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(crc32c(data));
  return b.toString('base64');
}

const md5Base64 = (data: Buffer) => createHash('md5').update(data).digest('base64');

/** Rejects an upload whose client-computed hashes do not match the bytes, as GCS does. */
export function checkHashes(data: Buffer, expected: { crc32c?: string; md5?: string }): void {
  if (expected.crc32c && expected.crc32c !== crc32cBase64(data)) {
    throw badRequest(`Provided CRC32C "${expected.crc32c}" doesn't match calculated CRC32C "${crc32cBase64(data)}".`);
  }
  if (expected.md5 && expected.md5 !== md5Base64(data)) {
    throw badRequest(`Provided MD5 hash "${expected.md5}" doesn't match calculated MD5 hash "${md5Base64(data)}".`);
  }
}

export class GcsStore {
  readonly buckets = new Map<string, Map<string, StoredGcsObject>>();
  /** Completed object writes in the order they were stored. */
  readonly writes: Array<{ bucket: string; key: string }> = [];
  private generation = Date.now() * 1000;

  addBucket(name: string): void {
    if (!this.buckets.has(name)) this.buckets.set(name, new Map());
  }

  /** A bucket's objects; throws a 404 when there is no such bucket. */
  bucketOf(name: string): Map<string, StoredGcsObject> {
    const b = this.buckets.get(name);
    if (!b) throw notFound('The specified bucket does not exist.');
    return b;
  }

  /** An object; throws a 404 when there is no such object. */
  find(bucket: string, name: string): StoredGcsObject {
    const o = this.bucketOf(bucket).get(name);
    if (!o) throw notFound(`No such object: ${bucket}/${name}`);
    return o;
  }

  put(bucket: string, name: string, data: Buffer, contentType: string, metadata: Record<string, string>): StoredGcsObject {
    if (!name) throw badRequest('Required object name is missing.');
    const obj: StoredGcsObject = {
      bucket,
      name,
      data,
      contentType: contentType || 'application/octet-stream',
      metadata,
      generation: String(++this.generation),
      created: new Date().toISOString(),
      crc32c: crc32cBase64(data),
      md5Hash: md5Base64(data),
    };
    this.bucketOf(bucket).set(name, obj);
    this.writes.push({ bucket, key: name });
    return obj;
  }
}
