import { existsSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { loadConfig } from '../../src/shared/config';
import { failureKind, failureReason } from '../../src/shared/failure';
import { checkPortFree, checkTlsFiles, checkWritableDir, preflight, withStartupTimeout } from '../../src/primary/preflight';
import { tempDir } from '../support/server';
import { rejectionOf } from '../support/wait';

/** Holds a port on 127.0.0.1 for the test's duration. */
async function heldPort(): Promise<{ port: number; close: () => void }> {
  const holder = net.createServer();
  await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
  return { port: (holder.address() as net.AddressInfo).port, close: () => holder.close() };
}

const held: Array<{ close: () => void }> = [];
afterEach(() => held.splice(0).forEach((h) => h.close()));

describe('preflight: everything at once', () => {
  it('lists every problem in one configuration error, one clause each, in a fixed order', async () => {
    const a = await heldPort();
    const b = await heldPort();
    held.push(a, b);
    const dir = tempDir();
    const config = loadConfig({
      HOST: '127.0.0.1',
      PORT: String(a.port),
      ADMIN_HOST: '127.0.0.1',
      ADMIN_PORT: String(b.port),
      TLS_CERT_FILE: path.join(dir, 'missing.pem'),
      TLS_KEY_FILE: path.join(dir, 'missing.key'),
      CRASHMOVER_CRASHSTORAGE_CLASS: 'fs',
      CRASHMOVER_CRASHSTORAGE_FS_ROOT: '/proc/antenna-test/crashes',
      CRASHMOVER_SPOOL: 'on',
      CRASHMOVER_SPOOL_DIR: '/proc/antenna-test/spool',
    });
    const err = await rejectionOf(preflight(config));
    expect([failureKind(err), failureReason(err)]).toEqual(['configuration', 'preflight']);
    const dirErr = await rejectionOf(checkWritableDir('CRASHMOVER_SPOOL_DIR', '/proc/antenna-test/spool'));
    expect([failureKind(dirErr), failureReason(dirErr)]).toEqual(['configuration', 'dir_unwritable']);
    expect(err.message.split('; ')).toEqual([
      `cannot listen on HOST=127.0.0.1 PORT=${a.port} (EADDRINUSE): stop the process that holds it or set PORT to a free port`,
      `cannot listen on ADMIN_HOST=127.0.0.1 ADMIN_PORT=${b.port} (EADDRINUSE): stop the process that holds it or set ADMIN_PORT to a free port`,
      `TLS_CERT_FILE=${path.join(dir, 'missing.pem')} cannot be read (ENOENT): set it to a PEM file this user can read`,
      'CRASHMOVER_CRASHSTORAGE_FS_ROOT=/proc/antenna-test/crashes is not a directory this user can create and write (ENOENT): set it to a writable directory, or fix its owner',
      'CRASHMOVER_SPOOL_DIR=/proc/antenna-test/spool is not a directory this user can create and write (ENOENT): set it to a writable directory, or fix its owner',
    ]);
  });

  it('passes, making the directories, when everything is usable', async () => {
    const dir = tempDir();
    const config = loadConfig({
      HOST: '127.0.0.1',
      PORT: '0',
      CRASHMOVER_CRASHSTORAGE_CLASS: 'fs',
      CRASHMOVER_CRASHSTORAGE_FS_ROOT: path.join(dir, 'crashes', 'deep'),
      CRASHMOVER_SPOOL: 'on',
      CRASHMOVER_SPOOL_DIR: path.join(dir, 'spool'),
    });
    await expect(preflight(config)).resolves.toBeUndefined();
    expect(existsSync(path.join(dir, 'crashes', 'deep'))).toBe(true);
    expect(existsSync(path.join(dir, 'spool'))).toBe(true);
  });

  it('checks neither the fs root nor the spool when they are not in use', async () => {
    const config = loadConfig({
      HOST: '127.0.0.1',
      PORT: '0',
      CRASHMOVER_CRASHSTORAGE_CLASS: 'noop',
      CRASHMOVER_CRASHSTORAGE_FS_ROOT: '/proc/antenna-test/crashes',
      CRASHMOVER_SPOOL: 'off',
      CRASHMOVER_SPOOL_DIR: '/proc/antenna-test/spool',
    });
    await expect(preflight(config)).resolves.toBeUndefined();
  });
});

describe('preflight: the port', () => {
  it('port 0 is always free (the kernel picks one), even on an address that is not this machine’s', async () => {
    await expect(checkPortFree('192.0.2.1', 0)).resolves.toBeUndefined();
  });

  it('an address that is not this machine’s names HOST', async () => {
    // 192.0.2.0/24 is TEST-NET-1: never assigned to a local interface.
    const err = await rejectionOf(checkPortFree('192.0.2.1', 8000));
    expect(err.message).toBe('cannot listen on HOST=192.0.2.1 PORT=8000 (EADDRNOTAVAIL): set HOST to an address of this machine (0.0.0.0 for all)');
  });

  it('names ADMIN_HOST and ADMIN_PORT for the admin listener', async () => {
    const a = await heldPort();
    held.push(a);
    const err = await rejectionOf(checkPortFree('127.0.0.1', a.port, { host: 'ADMIN_HOST', port: 'ADMIN_PORT' }));
    expect(err.message).toMatch(/^cannot listen on ADMIN_HOST=127\.0\.0\.1 ADMIN_PORT=\d+ \(EADDRINUSE\)/);
  });
});

describe('preflight: TLS files', () => {
  it('names the key file when only the key cannot be read', async () => {
    const dir = tempDir();
    writeFileSync(path.join(dir, 'cert.pem'), 'x');
    const err = await rejectionOf(checkTlsFiles(path.join(dir, 'cert.pem'), path.join(dir, 'nope.key')));
    expect(failureReason(err)).toBe('tls_file_unreadable');
    expect(err.message).toBe(`TLS_KEY_FILE=${path.join(dir, 'nope.key')} cannot be read (ENOENT): set it to a PEM file this user can read`);
  });

  it('says how to fix a pair that cannot be used together', async () => {
    const dir = tempDir();
    writeFileSync(path.join(dir, 'cert.pem'), 'not a certificate');
    writeFileSync(path.join(dir, 'key.pem'), 'not a key');
    const err = await rejectionOf(checkTlsFiles(path.join(dir, 'cert.pem'), path.join(dir, 'key.pem')));
    expect(err.message).toMatch(/\): set TLS_CERT_FILE to a PEM certificate chain and TLS_KEY_FILE to its private key$/);
  });
});

describe('withStartupTimeout', () => {
  it('passes the result of work that finishes in time, and names the step and the fix when it does not', async () => {
    await expect(withStartupTimeout(Promise.resolve(42), 5, 'x')).resolves.toBe(42);
    // STARTUP_TIMEOUT is in seconds: work that takes 50 ms is well within 1 s.
    await expect(withStartupTimeout(new Promise((r) => setTimeout(() => r('slow'), 50)), 1, 'x')).resolves.toBe('slow');
    const err = await rejectionOf(withStartupTimeout(new Promise(() => {}), 0.05, 'the start-up checks'));
    expect(err.message).toBe(
      'the start-up checks did not finish within STARTUP_TIMEOUT=0.05 s: a backend or a directory is not answering (check the storage root, the spool directory and the network), or raise STARTUP_TIMEOUT',
    );
    await expect(withStartupTimeout(Promise.reject(new Error('own failure')), 5, 'x')).rejects.toThrow('own failure');
  });
});
