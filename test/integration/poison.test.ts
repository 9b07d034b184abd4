import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { jsonDepth } from '../../src/shared/json-safe';
import { encodeEntry } from '../../src/shared/spool/entry-codec';
import { entryFileName } from '../../src/shared/spool/layout';
import { crashBody, crashIdFrom, crashParts, fakeDump, rawCrashKey, readStored, type Part } from '../support/crashes';
import { post } from '../support/http';
import { startServer, tempDir, type RunningServer } from '../support/server';
import { waitFor } from '../support/wait';

/** An `extra` JSON part whose annotation `Deep` makes the whole object `depth` levels deep. */
const deepExtra = (depth: number) => `{"ProductName":"Test","Deep":${'{"a":'.repeat(depth - 1)}1${'}'.repeat(depth - 1)}}`;

function submitParts(server: RunningServer, parts: Part[]) {
  const { body, contentType } = crashBody(parts);
  return post(`${server.url}/submit`, { headers: { 'Content-Type': contentType, 'Content-Length': body.length }, body });
}

const withExtra = (json: string, dumps: Record<string, Buffer> = { upload_file_minidump: fakeDump(2000) }): Part[] => [
  { name: 'extra', data: json, contentType: 'application/json' },
  ...crashParts({}, dumps),
];

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** Every dump of a stored crash equals what its raw crash's dump_checksums records. */
function expectDumpsMatchChecksums(fsRoot: string, id: string, dumpField = 'upload_file_minidump'): string[] {
  const raw = JSON.parse(readStored(fsRoot, rawCrashKey(id)).toString()) as { metadata: { dump_checksums: Record<string, string> } };
  const names = JSON.parse(readStored(fsRoot, `v1/dump_names/${id}`).toString()) as string[];
  expect(names.sort()).toEqual(Object.keys(raw.metadata.dump_checksums).sort());
  for (const name of names) {
    const stored = readStored(fsRoot, `v1/${name === dumpField ? 'dump' : name}/${id}`);
    expect(`${name} ${sha256(stored)}`).toBe(`${name} ${raw.metadata.dump_checksums[name]}`);
  }
  return names;
}

describe('poison crashes, fs storage without the spool', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startServer({ CRASHMOVER_RETRY_SLEEP_SECONDS: '0.2' });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('stores annotations 100 deep; refuses 3,000 and 100,000 deep with 400 before answering; serves normal crashes on', async () => {
    const ok = await submitParts(server, withExtra(deepExtra(100)));
    expect(ok.status).toBe(200);
    const raw = JSON.parse(readStored(server.fsRoot, rawCrashKey(crashIdFrom(ok.text))).toString()) as Record<string, unknown>;
    expect(jsonDepth(raw.Deep)).toBe(99);

    for (const depth of [3_000, 100_000]) {
      const res = await submitParts(server, withExtra(deepExtra(depth)));
      expect(`${depth}: ${res.status} ${res.text}`).toBe(`${depth}: 400 Discarded=malformed_json_too_deep`);
    }
    const normal = await submitParts(server, crashParts({ ProductName: 'Test' }, { upload_file_minidump: fakeDump(3000) }));
    expect(normal.status).toBe(200);
    expect(existsSync(path.join(server.fsRoot, rawCrashKey(crashIdFrom(normal.text))))).toBe(true);
  });

  it('stores a huge object (200,000 keys) and a huge array as they came', async () => {
    const keys = Array.from({ length: 200_000 }, (_, i) => `"k${i}":${i}`).join(',');
    const wide = await submitParts(server, withExtra(`{"ProductName":"Test","Wide":{${keys}}}`));
    expect(wide.status).toBe(200);
    const raw = JSON.parse(readStored(server.fsRoot, rawCrashKey(crashIdFrom(wide.text))).toString()) as { Wide: Record<string, number> };
    expect(Object.keys(raw.Wide)).toHaveLength(200_000);
    expect(raw.Wide.k199999).toBe(199_999);

    const long = await submitParts(server, withExtra(`{"ProductName":"Test","Long":[${new Array(200_000).fill(1).join(',')}]}`));
    expect(long.status).toBe(200);
    const rawLong = JSON.parse(readStored(server.fsRoot, rawCrashKey(crashIdFrom(long.text))).toString()) as { Long: number[] };
    expect(rawLong.Long).toHaveLength(200_000);
  });

  it('refuses a dump named `dump` next to upload_file_minidump (one key, two racing writes); stored dumps always match dump_checksums', async () => {
    const clash = await submitParts(server, crashParts({ ProductName: 'Test' }, { upload_file_minidump: fakeDump(50_000, 1), dump: fakeDump(50_000, 2) }));
    expect(`${clash.status} ${clash.text}`).toBe('400 Discarded=malformed_invalid_dump_name');

    const answers = await Promise.all(
      Array.from({ length: 18 }, (_, i) =>
        submitParts(
          server,
          crashParts(
            { ProductName: 'Test' },
            i % 3 === 0 ? { dump: fakeDump(40_000, i) } : { upload_file_minidump: fakeDump(40_000, i), memory_report: fakeDump(1000, i + 100) },
          ),
        ),
      ),
    );
    for (const [i, res] of answers.entries()) {
      expect(res.status).toBe(200);
      expect(expectDumpsMatchChecksums(server.fsRoot, crashIdFrom(res.text))).toEqual(i % 3 === 0 ? ['dump'] : ['memory_report', 'upload_file_minidump']);
    }
  });
});

describe('poison crashes with the spool on', () => {
  let server: RunningServer;
  let fsRoot: string;
  beforeAll(async () => {
    const dir = tempDir();
    fsRoot = path.join(dir, 'crashes');
    server = await startServer({
      CRASHMOVER_SPOOL: 'on',
      CRASHMOVER_SPOOL_DIR: path.join(dir, 'spool'),
      CRASHMOVER_CRASHSTORAGE_FS_ROOT: fsRoot,
      // Far past the default: what passes parsing must also be stored, however deep.
      BREAKPAD_MAX_JSON_DEPTH: '200000',
      BREAKPAD_DUMP_FIELD: 'x',
      HEARTBEAT_INTERVAL: '200',
    });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it.each([3_000, 100_000])('stores what it acknowledged, %i levels deep, and the normal crashes behind it', async (depth) => {
    const deep = await submitParts(server, withExtra(deepExtra(depth), { x: fakeDump(2000) }));
    expect(deep.status).toBe(200);
    const deepId = crashIdFrom(deep.text);
    const normalIds: string[] = [];
    for (let i = 0; i < 10; i++) {
      const res = await submitParts(server, crashParts({ ProductName: 'Test', Version: String(i) }, { x: fakeDump(3000, i) }));
      expect(res.status).toBe(200);
      normalIds.push(crashIdFrom(res.text));
    }
    await waitFor('every acknowledged crash in storage', () => [deepId, ...normalIds].every((id) => existsSync(path.join(fsRoot, rawCrashKey(id)))), 30_000);
    const raw = JSON.parse(readStored(fsRoot, rawCrashKey(deepId)).toString()) as Record<string, unknown>;
    expect(jsonDepth(raw.Deep)).toBe(depth - 1);
    expect(existsSync(path.join(fsRoot, `v1/dump/${deepId}`))).toBe(true);
  });

  it('refuses `dump` next to the configured dump field before spooling it', async () => {
    const res = await submitParts(server, crashParts({ ProductName: 'Test' }, { x: fakeDump(1000, 1), dump: fakeDump(1000, 2) }));
    expect(`${res.status} ${res.text}`).toBe('400 Discarded=malformed_invalid_dump_name');
  });
});

describe('a spool entry that can never be stored', () => {
  it('is quarantined at once with its crash id logged, and the entries around it are stored', async () => {
    const dir = tempDir();
    const fsRoot = path.join(dir, 'crashes');
    const ready = path.join(dir, 'spool', 'ready');
    mkdirSync(ready, { recursive: true });
    // Entries left by an older version: one whose two dumps share the key v1/dump/<id>, among normal ones.
    const id = (i: number) => `de1bb258-cbbf-4589-a673-${String(i).padStart(6, '0')}261130`;
    const entries = Array.from({ length: 6 }, (_, i) => ({
      crashId: id(i),
      rawCrash: { ProductName: 'Test', uuid: id(i), metadata: {} },
      dumps: new Map(
        i === 0
          ? [
              ['upload_file_minidump', fakeDump(1000, 1)],
              ['dump', fakeDump(1000, 2)],
            ]
          : [['upload_file_minidump', fakeDump(1000, i)]],
      ),
    }));
    for (const [i, c] of entries.entries()) {
      const bytes = Buffer.concat(encodeEntry(c));
      writeFileSync(path.join(ready, entryFileName({ spooledAt: Date.now() - 1000 + i, bytes: bytes.length, crashId: c.crashId, state: 'crash' })), bytes);
    }
    const server = await startServer({
      CRASHMOVER_SPOOL: 'on',
      CRASHMOVER_SPOOL_DIR: path.join(dir, 'spool'),
      CRASHMOVER_CRASHSTORAGE_FS_ROOT: fsRoot,
      // A back-off would hold the others for a minute.
      CRASHMOVER_RETRY_SLEEP_SECONDS: '60',
      CRASHMOVER_SPOOL_MAX_BACKOFF_SECONDS: '60',
      HEARTBEAT_INTERVAL: '200',
    });
    try {
      await waitFor('the normal entries stored', () => entries.slice(1).every((c) => existsSync(path.join(fsRoot, rawCrashKey(c.crashId)))), 20_000);
      await server.waitForLog(new RegExp(`${id(0)}: .*can never be moved \\(invalid_dump_name\\); moved to .*corrupt`), 20_000);
      expect(readdirSync(path.join(dir, 'spool', 'corrupt')).some((f) => f.includes(id(0)))).toBe(true);
      expect(existsSync(path.join(fsRoot, rawCrashKey(id(0))))).toBe(false);
      expect(existsSync(path.join(fsRoot, `v1/dump/${id(0)}`))).toBe(false);
    } finally {
      await server.stop();
    }
  });
});
