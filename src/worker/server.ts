import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { Duplex } from 'node:stream';
import type { Config } from '../shared/config';
import { checkSubmitHeaders } from './breakpad/request-headers';
import { Rejection } from './breakpad/rejection';
import { sendTextAndDiscard } from './breakpad/respond';

type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

/**
 * The HTTP(S) server around the app, with its timeouts. A client that sends
 * `Expect: 100-continue` is refused before it uploads anything when its
 * headers already say no (e.g. a Content-Length over the limit).
 */
export function createServer(config: Config, handler: Handler): http.Server {
  const { server: s } = config;
  const server =
    s.tlsCertFile && s.tlsKeyFile
      ? https.createServer({ cert: readFileSync(s.tlsCertFile), key: readFileSync(s.tlsKeyFile) }, handler)
      : http.createServer(handler);
  server.keepAliveTimeout = s.keepAliveTimeoutMs;
  server.headersTimeout = s.headersTimeoutMs;
  server.requestTimeout = s.requestTimeoutMs;

  server.on('checkContinue', (req: http.IncomingMessage, res: http.ServerResponse) => {
    if (req.method === 'POST' && req.url?.split('?')[0] === '/submit') {
      try {
        checkSubmitHeaders(req.headers, config.breakpad.maxPayloadSize);
      } catch (err) {
        if (err instanceof Rejection) {
          sendTextAndDiscard(req, res, err.status, err.body, config.breakpad.rejectLingerSeconds * 1000);
          return;
        }
        throw err;
      }
    }
    res.writeContinue();
    handler(req, res);
  });
  server.on('clientError', onClientError);
  return server;
}

/**
 * Bytes that do not parse as HTTP. When they follow a request whose answer is
 * still being written (e.g. a body longer than its Content-Length), Node's
 * default would write a bare 400 over that answer; let the answer go out
 * first instead (it closes the connection).
 */
function onClientError(err: NodeJS.ErrnoException, socket: Duplex): void {
  const pending = (socket as Duplex & { _httpMessage?: http.ServerResponse })._httpMessage;
  const timeout = err.code === 'ERR_HTTP_REQUEST_TIMEOUT';
  if (err.code === 'ECONNRESET' || (err.code === 'HPE_INVALID_EOF_STATE' && !pending?.headersSent)) {
    // The client went away (or stopped sending) mid-request with nothing
    // answered yet: nobody is left to answer. Destroying the socket is what
    // aborts the request, so its handler stops waiting for the rest of the
    // body; waiting for the answer instead kept it until the body timeout.
    socket.destroy();
    return;
  }
  if (pending && !pending.writableFinished) {
    if (timeout && !pending.headersSent) {
      // The whole request took longer than REQUEST_TIMEOUT: answer it ourselves.
      pending.writeHead(408, { 'Content-Type': 'text/plain; charset=utf-8', Connection: 'close' }).end('Discarded=timeout');
    } else if (timeout) {
      socket.destroy();
      return;
    }
    pending.once('close', () => socket.destroy());
    return;
  }
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const body = timeout ? 'Request Timeout' : 'Bad Request';
  socket.end(
    `HTTP/1.1 ${timeout ? '408 Request Timeout' : '400 Bad Request'}\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
  );
}
