import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { crashFiles } from '../support/crashes';
import { startServer, tempDir, type RunningServer } from '../support/server';
import { selfSignedCertificate } from '../support/tls';

const ROOT = path.resolve(__dirname, '..', '..');

function run(tool: string, args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [path.join(ROOT, 'dist', 'tools', tool), ...args],
      { env: { PATH: process.env.PATH, ...env }, timeout: 20000 },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe('tools over HTTPS (self-signed certificate)', () => {
  let server: RunningServer;
  let cert: string;
  let dump: string;

  beforeAll(async () => {
    const dir = tempDir();
    const tls = selfSignedCertificate(dir);
    if (!tls) throw new Error('openssl is needed to make a self-signed certificate');
    cert = tls.cert;
    const key = tls.key;
    dump = path.join(dir, 'some.dmp');
    writeFileSync(dump, 'MDMP fake minidump');
    server = await startServer({ TLS_CERT_FILE: cert, TLS_KEY_FILE: key, WORKERS: '1' });
  });
  afterAll(async () => {
    await server?.stop();
  });

  test('the Docker healthcheck probes over HTTPS when TLS_CERT_FILE is set', async () => {
    const r = await run('healthcheck.js', [], { PORT: String(server.port), TLS_CERT_FILE: cert });
    expect(r).toMatchObject({ code: 0 });
  });

  test('the healthcheck fails, naming the URL, when nothing answers', async () => {
    const r = await run('healthcheck.js', [], { PORT: String(server.port) }); // plain HTTP to a TLS port
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`http://127.0.0.1:${server.port}/__lbheartbeat__`);
  });

  test('submit --cacert trusts the server certificate; the crash is stored', async () => {
    const before = crashFiles(server.fsRoot).length;
    const r = await run('submit.js', ['--url', `${server.url}/submit`, '--cacert', cert, '--dump', `upload_file_minidump=${dump}`]);
    expect(r.stdout).toMatch(/^HTTP 200\nCrashID=bp-/);
    expect(r.code).toBe(0);
    expect(crashFiles(server.fsRoot).length).toBeGreaterThan(before);
  });

  test('submit --insecure skips verification', async () => {
    const r = await run('submit.js', ['--url', `${server.url}/submit`, '--insecure']);
    expect(r.stdout).toMatch(/^HTTP 200\nCrashID=bp-/);
  });

  test('submit without either names both options', async () => {
    const r = await run('submit.js', ['--url', `${server.url}/submit`]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/cannot verify the certificate .*--cacert FILE.*--insecure/);
  });
});
