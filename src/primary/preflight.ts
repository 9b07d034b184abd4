import { constants } from 'node:fs';
import { access, readFile } from 'node:fs/promises';
import net from 'node:net';
import tls from 'node:tls';
import type { Config } from '../shared/config';
import { KindedError, type FailureReason } from '../shared/failure';
import { makeDirs } from '../shared/make-dirs';
import { spoolEnabled } from '../shared/spool';

/**
 * Checks the primary makes before forking any worker, so that a setting that
 * would kill every worker at start-up fails once, with one line naming the
 * variable and the fix, instead of five stack traces and a crash loop.
 */

const problem = (reason: FailureReason, message: string) => new KindedError('configuration', reason, message);
const code = (err: unknown) => (err as NodeJS.ErrnoException).code ?? (err as Error).message;

export async function checkTlsFiles(certFile: string, keyFile: string): Promise<void> {
  const read = async (variable: string, file: string) => {
    try {
      return await readFile(file);
    } catch (err) {
      throw problem('tls_file_unreadable', `${variable}=${file} cannot be read (${code(err)}): set it to a PEM file this user can read`);
    }
  };
  const cert = await read('TLS_CERT_FILE', certFile);
  const key = await read('TLS_KEY_FILE', keyFile);
  try {
    tls.createSecureContext({ cert, key });
  } catch (err) {
    throw problem(
      'tls_files_invalid',
      `TLS_CERT_FILE=${certFile} and TLS_KEY_FILE=${keyFile} cannot be used together (${(err as Error).message}): ` +
        'set TLS_CERT_FILE to a PEM certificate chain and TLS_KEY_FILE to its private key',
    );
  }
}

export function checkPortFree(host: string, port: number, names = { host: 'HOST', port: 'PORT' }): Promise<void> {
  if (port === 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', (err: NodeJS.ErrnoException) => {
      const fix =
        err.code === 'EADDRINUSE'
          ? `stop the process that holds it or set ${names.port} to a free port`
          : err.code === 'EACCES'
            ? `ports under 1024 need CAP_NET_BIND_SERVICE; set ${names.port} to 1024 or above, or grant the capability`
            : err.code === 'EADDRNOTAVAIL'
              ? `set ${names.host} to an address of this machine (0.0.0.0 for all)`
              : `check ${names.port} and ${names.host}`;
      reject(problem('port_unavailable', `cannot listen on ${names.host}=${host} ${names.port}=${port} (${err.code ?? err.message}): ${fix}`));
    });
    probe.listen({ host, port, exclusive: true }, () => probe.close(() => resolve()));
  });
}

export async function checkWritableDir(variable: string, dir: string): Promise<void> {
  try {
    await makeDirs(dir);
    await access(dir, constants.W_OK);
  } catch (err) {
    throw problem(
      'dir_unwritable',
      `${variable}=${dir} is not a directory this user can create and write (${code(err)}): set it to a writable directory, or fix its owner`,
    );
  }
}

/** Every check at once; one line each for what is wrong. */
export async function preflight(config: Config): Promise<void> {
  const { server } = config;
  const checks: Array<Promise<void>> = [checkPortFree(server.host, server.port)];
  if (server.adminPort !== undefined) checks.push(checkPortFree(server.adminHost, server.adminPort, { host: 'ADMIN_HOST', port: 'ADMIN_PORT' }));
  if (server.tlsCertFile && server.tlsKeyFile) checks.push(checkTlsFiles(server.tlsCertFile, server.tlsKeyFile));
  if (config.storage.class === 'fs') checks.push(checkWritableDir('CRASHMOVER_CRASHSTORAGE_FS_ROOT', config.storage.fsRoot));
  if (spoolEnabled(config)) checks.push(checkWritableDir('CRASHMOVER_SPOOL_DIR', config.crashmover.spoolDir));
  const failed = (await Promise.allSettled(checks)).flatMap((r) => (r.status === 'rejected' ? [(r.reason as Error).message] : []));
  if (failed.length > 0) throw problem('preflight', failed.join('; '));
}

/** Rejects when `work` has not settled within `seconds`, naming the setting. */
export function withStartupTimeout<T>(work: Promise<T>, seconds: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          problem(
            'startup_timeout',
            `${what} did not finish within STARTUP_TIMEOUT=${seconds} s: a backend or a directory is not answering (check the storage root, the spool directory and the network), or raise STARTUP_TIMEOUT`,
          ),
        ),
      seconds * 1000,
    );
    timer.unref();
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}
