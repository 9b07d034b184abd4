import { execFile, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createCrashId } from '../../src/shared/crash-id';
import { encodeEntry } from '../../src/shared/spool/entry-codec';
import { entryFileName } from '../../src/shared/spool/layout';
import { crashFiles, rawCrashKey, readStored } from '../support/crashes';
import { tempDir } from '../support/server';

// `npm run spool`: what an operator sees without --json, and the ways it refuses to run.
const tool = path.resolve(__dirname, '..', '..', 'dist', 'tools', 'spool.js');

function runTool(env: Record<string, string>, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [tool, ...args], { env: { PATH: process.env.PATH, ...env }, timeout: 30000 }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** A pid no process has any more: one that has just exited. */
function deadPid(): number {
  return spawnSync(process.execPath, ['-e', '']).pid!;
}

describe('npm run spool (the operator tool)', () => {
  it('prints its usage for --help and refuses an unknown command with status 2', async () => {
    const help = await runTool({}, '--help');
    expect(help.code).toBe(0);
    expect(help.stderr).toMatch(/^Usage: npm run spool -- <command>/);
    const bad = await runTool({}, 'purge');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/status +show what the spool/);
  });

  it('names an invalid variable and its accepted values, without a stack trace', async () => {
    const r = await runTool({ CRASHMOVER_CONCURRENT_CRASHMOVERS: 'abc' }, 'status');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/CRASHMOVER_CONCURRENT_CRASHMOVERS="abc" is invalid: expected an integer/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('shows a crash claimed by a process that is gone, and drain releases and stores it (even with no ready/ yet)', async () => {
    const dir = tempDir();
    const fsRoot = path.join(dir, 'crashes');
    const env = { CRASHMOVER_SPOOL: 'on', CRASHMOVER_SPOOL_DIR: path.join(dir, 'spool'), CRASHMOVER_CRASHSTORAGE_FS_ROOT: fsRoot };
    const crashId = createCrashId(new Date(), 0);
    const entry = Buffer.concat(
      encodeEntry({ crashId, rawCrash: { ProductName: 'Firefox', Version: '1.0' }, dumps: new Map([['upload_file_minidump', Buffer.from('MDMP spooled')]]) }),
    );
    const pid = deadPid();
    const claimed = path.join(dir, 'spool', 'claimed', String(pid));
    mkdirSync(claimed, { recursive: true });
    writeFileSync(path.join(claimed, entryFileName({ spooledAt: Date.now() - 60000, bytes: entry.length, crashId, state: 'crash' })), entry);

    const status = await runTool(env, 'status');
    expect(status.code).toBe(0);
    expect(status.stdout).toContain(`spool ${path.join(dir, 'spool')}`);
    expect(status.stdout).toMatch(/crashes: 1\n/);
    expect(status.stdout).toContain(`bytes:   ${entry.length}`);
    expect(status.stdout).toMatch(/oldest: +\d+ s/);
    expect(status.stdout).toContain(`claimed by ${pid}: 1 (process gone: released at the next start or by drain)`);

    const drain = await runTool(env, 'drain', '--timeout', '20');
    // Fails before releaseClaims made ready/ itself: the renames failed with ENOENT and the claim directory was deleted with the crash in it.
    expect(drain.stdout).toBe('moved 1 crashes; 0 left in the spool\n');
    expect(drain.stderr).toContain(`${crashId} saved`);
    expect(drain.code).toBe(0);
    expect(JSON.parse(readStored(fsRoot, rawCrashKey(crashId)).toString())).toMatchObject({ ProductName: 'Firefox' });
    expect(crashFiles(fsRoot)).toContain(`v1/dump/${crashId}`);

    const after = await runTool(env, 'status');
    expect(after.stdout).toMatch(/crashes: 0\n/);
    expect(after.stdout).toMatch(/oldest: +—/);
    expect(after.stdout).not.toContain('claimed by');
  });
});
