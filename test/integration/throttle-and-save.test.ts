import { execFile } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { crashBody, crashFiles, crashIdFrom, crashParts, fakeDump, rawCrashKey, readStored } from '../support/crashes';
import { post } from '../support/http';
import { breakFsStorage, startServer, tempDir, type RunningServer } from '../support/server';

const run = promisify(execFile);

async function submit(server: RunningServer, annotations: Record<string, string>) {
  const { body, contentType } = crashBody(crashParts(annotations, { upload_file_minidump: fakeDump(2000) }));
  return post(`${server.url}/submit`, { headers: { 'Content-Type': contentType, 'Content-Length': body.length }, body });
}

describe('the mozilla rules, end to end', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startServer({
      BREAKPAD_THROTTLER_RULES: 'mozilla',
      BREAKPAD_THROTTLER_PRODUCTS: 'mozilla',
      BREAKPAD_THROTTLER_PRODUCT_PACKAGENAMES: 'mozilla',
    });
  });
  afterAll(() => server?.stop());

  it('REJECT answers Discarded=rule_<name> and stores nothing', async () => {
    const before = crashFiles(server.fsRoot).length;
    const res = await submit(server, { ProductName: 'Unknown', Version: '1' });
    expect([res.status, res.text]).toEqual([200, 'Discarded=rule_unsupported_product']);
    const fenix = await submit(server, { ProductName: 'Fenix', Android_PackageName: 'org.example.fork' });
    expect([fenix.status, fenix.text]).toEqual([200, 'Discarded=rule_unsupported_packagename']);
    expect(crashFiles(server.fsRoot).length).toBe(before);
  });

  it('FAKEACCEPT answers a CrashID but stores nothing', async () => {
    const before = crashFiles(server.fsRoot).length;
    const res = await submit(server, { ProductName: 'B2G' });
    expect(res.status).toBe(200);
    const id = crashIdFrom(res.text);
    await new Promise((r) => setTimeout(r, 300));
    expect(crashFiles(server.fsRoot).length).toBe(before);
    expect(crashFiles(server.fsRoot).some((f) => f.includes(id))).toBe(false);
  });

  it('ACCEPT stores the crash with its rule and logs the decision, the save and the publish', async () => {
    const res = await submit(server, { ProductName: 'Firefox', ReleaseChannel: 'nightly', Version: '150.0a1' });
    const id = crashIdFrom(res.text);
    const raw = JSON.parse(readStored(server.fsRoot, rawCrashKey(id)).toString());
    expect(raw.metadata.throttle_rule).toBe('is_nightly');
    expect(raw.ReleaseChannel).toBe('nightly');
    await server.waitForLog(new RegExp(`^${id}: matched by is_nightly; returned ACCEPT$`));
    await server.waitForLog(new RegExp(`^${id} saved$`));
    await server.waitForLog(new RegExp(`^${id} published$`));
  });
});

describe('a rules file with DEFER', () => {
  it('gives the crash id throttle digit 1 and still stores it', async () => {
    const rules = path.join(tempDir(), 'rules.json');
    writeFileSync(rules, JSON.stringify([{ name: 'defer_all', key: '*', result: 'DEFER' }]));
    const server = await startServer({ BREAKPAD_THROTTLER_RULES: rules });
    try {
      const res = await submit(server, { ProductName: 'Test' });
      const id = crashIdFrom(res.text);
      expect(id.slice(-7, -6)).toBe('1');
      expect(JSON.parse(readStored(server.fsRoot, rawCrashKey(id)).toString()).metadata.throttle_rule).toBe('defer_all');
    } finally {
      await server.stop();
    }
  });
});

describe('saving fails', () => {
  it('answers 500 after the last attempt, stores nothing partial under a CrashID, and recovers', async () => {
    const server = await startServer({ CRASHMOVER_MAX_ATTEMPTS: '2', CRASHMOVER_RETRY_SLEEP_SECONDS: '0', HEALTH_CHECK_INTERVAL: '1' });
    try {
      // A file where the v1 directory belongs makes every write fail, even for root.
      breakFsStorage(server.fsRoot);
      const failed = await submit(server, { ProductName: 'Test' });
      expect(failed.status).toBe(500);
      expect(failed.text).not.toMatch(/CrashID/);
      await server.waitForLog(/too many errors trying to save/);

      rmSync(path.join(server.fsRoot, 'v1'));
      mkdirSync(path.join(server.fsRoot, 'v1'), { recursive: true }); // a health check may have made it already
      // The worker that saw the failure refuses at once (503, Retry-After) until its
      // next storage probe (HEALTH_CHECK_INTERVAL=1); a client retries, as told.
      let ok = await submit(server, { ProductName: 'Test' });
      for (let tries = 0; ok.status === 503 && tries < 50; tries++) {
        expect(ok.headers['retry-after']).toMatch(/^\d+$/);
        await new Promise((r) => setTimeout(r, 200));
        ok = await submit(server, { ProductName: 'Test' });
      }
      const id = crashIdFrom(ok.text);
      expect(readStored(server.fsRoot, rawCrashKey(id)).length).toBeGreaterThan(0);
    } finally {
      await server.stop();
    }
  });
});

describe('npm run submit', () => {
  it('posts a gzipped crash with dumps the way a Breakpad client does and prints the answer', async () => {
    const server = await startServer();
    try {
      const dir = tempDir();
      const dumpPath = path.join(dir, 'crash.dmp');
      const dump = fakeDump(50_000, 3);
      writeFileSync(dumpPath, dump);
      const tool = path.resolve(__dirname, '..', '..', 'dist', 'tools', 'submit.js');
      const { stdout } = await run(process.execPath, [
        tool,
        '--url',
        `${server.url}/submit`,
        '--gzip',
        '--annotation',
        'ProductName=Smoke',
        '--annotation',
        'Version=2',
        '--dump',
        `upload_file_minidump=${dumpPath}`,
        '--dump',
        `memory_report=${dumpPath}`,
      ]);
      expect(stdout).toMatch(/^HTTP 200\nCrashID=bp-/);
      const id = crashIdFrom(stdout.slice(stdout.indexOf('CrashID=')));
      expect(readStored(server.fsRoot, `v1/dump/${id}`).equals(dump)).toBe(true);
      expect(readStored(server.fsRoot, `v1/memory_report/${id}`).equals(dump)).toBe(true);
      const raw = JSON.parse(readStored(server.fsRoot, rawCrashKey(id)).toString());
      expect(raw.ProductName).toBe('Smoke');
      expect(raw.metadata.payload_compressed).toBe('1');
    } finally {
      await server.stop();
    }
  });
});
