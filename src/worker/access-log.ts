import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../shared/logging';

export interface AccessLogOptions {
  logger: Logger;
  /** Client IP addresses are personal data: logged only when ACCESS_LOG_CLIENT_IP=1. */
  includeClientIp: boolean;
}

/**
 * One line per request, written when the answer is finished (or the client
 * went away): method, path, status, bytes in (headers and body, as read from
 * the socket), duration and user agent. Query strings are left out.
 */
function bytesIn(req: IncomingMessage): number {
  const socket = req.socket;
  const total = socket.bytesRead;
  const n = total - (readUpTo.get(socket) ?? 0);
  readUpTo.set(socket, total);
  return n;
}

/** Bytes read from each socket up to the end of its previous request (keep-alive). */
const readUpTo = new WeakMap<object, number>();

export function accessLog(o: AccessLogOptions) {
  return (req: IncomingMessage, res: ServerResponse, next: () => void): void => {
    const start = performance.now();
    let logged = false;
    const done = () => {
      if (logged) return;
      logged = true;
      const path = (req.url ?? '').split('?')[0];
      const fields: Record<string, unknown> = {
        method: req.method,
        path,
        status: res.writableFinished ? res.statusCode : 499,
        bytes_in: bytesIn(req),
        duration_ms: Math.round((performance.now() - start) * 10) / 10,
        user_agent: req.headers['user-agent'] ?? '',
      };
      if (o.includeClientIp) fields.client_ip = req.socket.remoteAddress;
      o.logger.info(`${req.method} ${path} ${fields.status}`, fields);
    };
    res.once('finish', done);
    res.once('close', done);
    next();
  };
}
