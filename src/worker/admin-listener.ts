import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Config } from '../shared/config';
import type { Logger } from '../shared/logging';
import { createServer } from './server';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * The admin listener (`ADMIN_PORT`): the public server's timeouts, but plain
 * HTTP even when `TLS_CERT_FILE` is set, since it binds to loopback or a
 * private network where a scraper should not need the public certificate.
 */
export function createAdminServer(config: Config, handler: Handler): Server {
  return createServer({ ...config, server: { ...config.server, tlsCertFile: undefined, tlsKeyFile: undefined } }, handler);
}

/**
 * Listens on `ADMIN_HOST:ADMIN_PORT` and logs the address (with `ADMIN_PORT=0`
 * the workers share one free port, which only this line tells). A port that
 * cannot be bound fails the worker's start with the variables to fix.
 */
export async function listenAdmin(server: Server, admin: { host: string; port: number }, log: Logger): Promise<AddressInfo> {
  await new Promise<void>((resolve, reject) => {
    const failed = (err: NodeJS.ErrnoException) =>
      reject(new Error(`cannot listen on ADMIN_HOST=${admin.host} ADMIN_PORT=${admin.port} (${err.code ?? err.message}): choose a free port and an address of this machine, or unset ADMIN_PORT`));
    server.once('error', failed);
    server.listen(admin.port, admin.host, () => {
      server.off('error', failed);
      resolve();
    });
  });
  server.on('error', (err: NodeJS.ErrnoException) => log.error(`admin server error while accepting connections: ${err.code ?? err.message}`));
  const addr = server.address() as AddressInfo;
  log.info(`worker ${process.pid} serves the admin endpoints on http://${addr.address}:${addr.port}`);
  return addr;
}
