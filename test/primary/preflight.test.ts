import { mkdirSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { failureKind, failureReason } from '../../src/shared/failure';
import { makeDirs } from '../../src/shared/make-dirs';
import { checkPortFree, checkTlsFiles, checkWritableDir, withStartupTimeout } from '../../src/primary/preflight';
import { tempDir } from '../support/server';
import { rejectionOf } from '../support/wait';

describe('makeDirs', () => {
  it('makes every missing level', async () => {
    const dir = path.join(tempDir(), 'a', 'b', 'c');
    await makeDirs(dir);
    await makeDirs(dir); // and again: nothing to do
    expect(() => mkdirSync(dir)).toThrow(/EEXIST/);
  });

  it('fails under a filesystem that refuses new entries, where mkdir -p never settles', async () => {
    const err = await rejectionOf(makeDirs('/proc/antenna-test/x/y'));
    expect((err as NodeJS.ErrnoException).code).toBe('ENOENT');
  });

  it('fails when a level is a file', async () => {
    const file = path.join(tempDir(), 'f');
    writeFileSync(file, 'x');
    expect((await rejectionOf(makeDirs(path.join(file, 'sub')))) as NodeJS.ErrnoException).toMatchObject({ code: 'ENOTDIR' });
  });
});

describe('preflight checks', () => {
  it('a port in use is a configuration failure naming PORT', async () => {
    const holder = net.createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const port = (holder.address() as net.AddressInfo).port;
    try {
      const err = await rejectionOf(checkPortFree('127.0.0.1', port));
      expect([failureKind(err), failureReason(err)]).toEqual(['configuration', 'port_unavailable']);
      expect(err.message).toContain(`PORT=${port} (EADDRINUSE)`);
    } finally {
      holder.close();
    }
    await expect(checkPortFree('127.0.0.1', port)).resolves.toBeUndefined();
  });

  it('TLS files: unreadable, and a certificate that is not PEM, are told apart', async () => {
    const dir = tempDir();
    expect(failureReason(await rejectionOf(checkTlsFiles(path.join(dir, 'nope.pem'), path.join(dir, 'nope.key'))))).toBe('tls_file_unreadable');
    writeFileSync(path.join(dir, 'cert.pem'), 'not a certificate');
    writeFileSync(path.join(dir, 'key.pem'), 'not a key');
    const err = await rejectionOf(checkTlsFiles(path.join(dir, 'cert.pem'), path.join(dir, 'key.pem')));
    expect(failureReason(err)).toBe('tls_files_invalid');
    expect(err.message).toMatch(/^TLS_CERT_FILE=.*cert\.pem and TLS_KEY_FILE=.*key\.pem cannot be used together/);
  });

  it('a directory that cannot be made names its variable', async () => {
    const err = await rejectionOf(checkWritableDir('CRASHMOVER_SPOOL_DIR', '/proc/antenna-test/spool'));
    expect(err.message).toMatch(/^CRASHMOVER_SPOOL_DIR=\/proc\/antenna-test\/spool is not a directory this user can create and write \(ENOENT\)/);
    await expect(checkWritableDir('CRASHMOVER_SPOOL_DIR', path.join(tempDir(), 'spool'))).resolves.toBeUndefined();
  });

  it('a start-up step that never settles fails at STARTUP_TIMEOUT', async () => {
    const err = await rejectionOf(withStartupTimeout(new Promise(() => {}), 0.05, 'the start-up checks'));
    expect(failureReason(err)).toBe('startup_timeout');
    expect(err.message).toContain('STARTUP_TIMEOUT=0.05 s');
  });
});
