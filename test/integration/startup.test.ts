import { writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { spawnServer, startServer, tempDir } from '../support/server';

describe('start-up', () => {
  it('refuses a bad value before forking, naming the variable, the value and what is expected', async () => {
    const server = spawnServer({ CRASHMOVER_CONCURRENT_CRASHMOVERS: 'lots' });
    const { code } = await server.exited;
    expect(code).toBe(1);
    const err = server.stderr.join('');
    expect(err).toContain('Unhandled startup exception');
    expect(err).toContain('CRASHMOVER_CONCURRENT_CRASHMOVERS="lots" is invalid: expected an integer');
    expect(server.logs.filter((l) => /listening/.test(l.raw))).toEqual([]);
  });

  it('refuses to start when it cannot write to its storage', async () => {
    const dir = tempDir();
    const notADir = path.join(dir, 'file');
    writeFileSync(notADir, 'x');
    const server = spawnServer({ CRASHMOVER_CRASHSTORAGE_FS_ROOT: path.join(notADir, 'crashes') });
    const { code } = await server.exited;
    expect(code).not.toBe(0);
    const line = await server.waitForLog(
      /^Unhandled startup exception: CRASHMOVER_CRASHSTORAGE_FS_ROOT=.*file\/crashes is not a directory this user can create and write \(ENOTDIR\): set it to a writable directory/,
    );
    expect(line.Severity).toBe(3);
    expect(server.logs.filter((l) => /listening/.test(l.raw))).toEqual([]);
  });

  it('refuses an invalid rules file, naming the variable, the file and the rule', async () => {
    const rules = path.join(tempDir(), 'rules.json');
    writeFileSync(rules, JSON.stringify([{ name: 'sample', key: '*', result: [120, 'ACCEPT', 'REJECT'] }]));
    const server = spawnServer({ BREAKPAD_THROTTLER_RULES: rules });
    const { code } = await server.exited;
    expect(code).toBe(1);
    await server.waitForLog(/^Unhandled startup exception: BREAKPAD_THROTTLER_RULES=.*rules\.json: rule #1 \(sample\): sampling percent 120/);
    expect(server.logs.filter((l) => /listening/.test(l.raw))).toEqual([]);
  });

  it('writes the verification file test/testfile-<uuid>.txt, and logs mozlog JSON', async () => {
    const server = await startServer();
    try {
      const { storedFiles } = await import('../support/crashes');
      expect(storedFiles(server.fsRoot).filter((f) => /^test\/testfile-[0-9a-f-]{36}\.txt$/.test(f))).toHaveLength(1);
      const line = server.logs.find((l) => /antenna ready/.test(l.raw))!;
      expect(line).toMatchObject({ Logger: 'antenna', EnvVersion: '2.0', Severity: 6, Type: 'antenna.primary' });
      expect(typeof (line as unknown as { Timestamp: number }).Timestamp).toBe('number');
      expect(line.Fields).toMatchObject({ host_id: expect.any(String), message: expect.stringContaining('antenna ready') });
    } finally {
      await server.stop();
    }
  });

  /** The primary refuses before forking: one line naming the variable, no worker, no stack trace. */
  async function refusedBeforeForking(env: Record<string, string>, line: RegExp): Promise<void> {
    const server = spawnServer({ WORKERS: '3', ...env });
    const { code } = await server.exited;
    expect(code).toBe(1);
    await server.waitForLog(line, 1000);
    const all = [...server.logs.map((l) => l.raw), ...server.stderr].join('\n');
    expect(all).not.toMatch(/listening|forking|\n\s+at /);
  }

  it('refuses a TLS file that does not exist, naming TLS_CERT_FILE', async () => {
    const dir = tempDir();
    await refusedBeforeForking(
      { TLS_CERT_FILE: path.join(dir, 'missing-cert.pem'), TLS_KEY_FILE: path.join(dir, 'missing-key.pem') },
      /^Unhandled startup exception: TLS_CERT_FILE=.*missing-cert\.pem cannot be read \(ENOENT\): set it to a PEM file/,
    );
  });

  it('refuses a port in use, naming PORT and the fix', async () => {
    const holder = net.createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const port = (holder.address() as net.AddressInfo).port;
    try {
      await refusedBeforeForking(
        { PORT: String(port) },
        new RegExp(`^Unhandled startup exception: cannot listen on HOST=127\\.0\\.0\\.1 PORT=${port} \\(EADDRINUSE\\): stop the process`),
      );
    } finally {
      holder.close();
    }
  });

  it('refuses a storage root that cannot be created (under /proc) instead of hanging', async () => {
    await refusedBeforeForking(
      { CRASHMOVER_CRASHSTORAGE_FS_ROOT: '/proc/antenna-test/crashes' },
      /^Unhandled startup exception: CRASHMOVER_CRASHSTORAGE_FS_ROOT=\/proc\/antenna-test\/crashes is not a directory/,
    );
  });
});
