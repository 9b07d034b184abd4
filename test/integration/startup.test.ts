import { writeFileSync } from 'node:fs';
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
    const line = await server.waitForLog(/^Unhandled startup exception: FSCrashStorage cannot write/);
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
});
