import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Config } from '../shared/config';
import type { Logger } from '../shared/logging';
import { createServer, serverSettings } from './server';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

export interface AdminListener {
  server: Server;
  /** Listens on `ADMIN_HOST:ADMIN_PORT` and logs the address; a port that cannot be bound fails the start. */
  listen(log: Logger): Promise<AddressInfo>;
}

/**
 * The admin listener (`ADMIN_PORT`): the public server's timeouts, but plain
 * HTTP even when `TLS_CERT_FILE` is set, since it binds to loopback or a
 * private network where a scraper should not need the public certificate.
 * While the worker drains, its answers close their connections, as on `PORT`.
 */
export function createAdminListener(config: Config, at: { host: string; port: number }, handler: Handler, draining: () => boolean): AdminListener {
  const server = createServer({ ...serverSettings(config), tls: undefined }, (req, res) => {
    if (draining()) res.setHeader('Connection', 'close');
    handler(req, res);
  });
  return {
    server,
    async listen(log) {
      await new Promise<void>((resolve, reject) => {
        const failed = (err: NodeJS.ErrnoException) =>
          reject(
            new Error(
              `cannot listen on ADMIN_HOST=${at.host} ADMIN_PORT=${at.port} (${err.code ?? err.message}): choose a free port and an address of this machine, or unset ADMIN_PORT`,
            ),
          );
        server.once('error', failed);
        server.listen(at.port, at.host, () => {
          server.off('error', failed);
          resolve();
        });
      });
      server.on('error', (err: NodeJS.ErrnoException) => log.error(`admin server error while accepting connections: ${err.code ?? err.message}`));
      const addr = server.address() as AddressInfo;
      // With ADMIN_PORT=0 the workers share one free port, which only this line tells.
      log.info(`worker ${process.pid} serves the admin endpoints on http://${addr.address}:${addr.port}`);
      return addr;
    },
  };
}
