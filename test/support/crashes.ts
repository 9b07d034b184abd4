import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import type { CrashReport } from '../../src/shared/crash-report';
import { crashParts, multipartBody, newBoundary, type Part } from '../../src/tools/multipart-body';

export { crashParts, multipartBody, newBoundary, type Part };

/** A multipart crash body with its Content-Type header. */
export function crashBody(parts: Part[], mediaType = 'multipart/form-data') {
  const boundary = newBoundary();
  return { body: multipartBody(parts, boundary), contentType: `${mediaType}; boundary=${boundary}` };
}

export function crashIdFrom(text: string): string {
  const m = /^CrashID=bp-([0-9a-f-]{36})\n$/.exec(text);
  if (!m) throw new Error(`not a CrashID answer: ${JSON.stringify(text)}`);
  return m[1]!;
}

/** Every file under an fs storage root, relative, sorted (temporary files included, so a leak shows). */
export function storedFiles(root: string): string[] {
  if (!existsSync(root)) return [];
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else out.push(path.relative(root, p));
    }
  };
  walk(root);
  return out.sort();
}

export function crashFiles(root: string): string[] {
  return storedFiles(root).filter((f) => f.startsWith('v1/'));
}

export function readStored(root: string, key: string): Buffer {
  return readFileSync(path.join(root, key));
}

export function rawCrashKey(id: string): string {
  return `v1/raw_crash/20${id.slice(-6)}/${id}`;
}

/** A minidump-like binary: the MDMP magic, then bytes that include CRLF and boundary-like dashes. */
export function fakeDump(size: number, seed = 1): Buffer {
  const buf = Buffer.alloc(size);
  let x = seed;
  for (let i = 0; i < size; i++) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    buf[i] = x >> 16;
  }
  buf.write('MDMP', 0);
  if (size > 40) buf.write('\r\n--', 20);
  return buf;
}

let testCrashes = 0;
/** A crash report as the sinks receive it: a fresh valid crash id each call and one dump of `size` bytes. */
export function testCrash(size = 100): CrashReport {
  testCrashes++;
  const id = `00000000-0000-4000-8000-${String(testCrashes).padStart(6, '0')}261130`;
  return {
    crashId: id,
    rawCrash: { ProductName: 'Test', uuid: id, metadata: {} },
    dumps: new Map([['upload_file_minidump', Buffer.alloc(size, testCrashes)]]),
  };
}
