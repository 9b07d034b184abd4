import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { Duplex } from 'node:stream';
import type { Config } from '../shared/config';
import { checkSubmitHeaders } from './breakpad/request-headers';
import { Rejection } from './breakpad/rejection';
import { sendTextAndDiscard } from './breakpad/respond';

type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

/** What the HTTP(S) server needs of the configuration. */
export type ServerSettings = Readonly<{
  /** Certificate and key files for HTTPS; undefined serves plain HTTP. */
  tls?: Readonly<{ certFile: string; keyFile: string }>;
  keepAliveTimeoutMs: number;
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  /** 0 = no bound. */
  maxConnectionsPerWorker: number;
  maxPayloadSize: number;
  rejectLingerMs: number;
}>;

export function serverSettings(config: Config): ServerSettings {
  const s = config.server;
  return Object.freeze({
    tls: s.tlsCertFile && s.tlsKeyFile ? Object.freeze({ certFile: s.tlsCertFile, keyFile: s.tlsKeyFile }) : undefined,
    keepAliveTimeoutMs: s.keepAliveTimeoutMs,
    headersTimeoutMs: s.headersTimeoutMs,
    requestTimeoutMs: s.requestTimeoutMs,
    maxConnectionsPerWorker: s.maxConnectionsPerWorker,
    maxPayloadSize: config.breakpad.maxPayloadSize,
    rejectLingerMs: config.breakpad.rejectLingerSeconds * 1000,
  });
}

/**
 * The HTTP(S) server around the app, with its timeouts. A client that sends
 * `Expect: 100-continue` is refused before it uploads anything when its
 * headers already say no (e.g. a Content-Length over the limit).
 */
export function createServer(s: ServerSettings, handler: Handler): http.Server {
  const server = s.tls ? https.createServer({ cert: readFileSync(s.tls.certFile), key: readFileSync(s.tls.keyFile) }, handler) : http.createServer(handler);
  server.keepAliveTimeout = s.keepAliveTimeoutMs;
  server.headersTimeout = s.headersTimeoutMs;
  server.requestTimeout = s.requestTimeoutMs;
  // Past it Node closes each new connection as it is accepted ('drop').
  if (s.maxConnectionsPerWorker > 0) server.maxConnections = s.maxConnectionsPerWorker;

  server.on('checkContinue', (req: http.IncomingMessage, res: http.ServerResponse) => {
    if (req.method === 'POST' && req.url?.split('?')[0] === '/submit') {
      try {
        checkSubmitHeaders(req.headers, s.maxPayloadSize);
      } catch (err) {
        if (err instanceof Rejection) {
          sendTextAndDiscard(req, res, err.status, err.body, s.rejectLingerMs);
          return;
        }
        throw err;
      }
    }
    res.writeContinue();
    handler(req, res);
  });
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => onClientError(err, socket, s.rejectLingerMs));
  return server;
}

/** What to answer a request that broke off with `code`, when it can still be answered. */
export function clientErrorAnswer(code: string | undefined): { status: number; text: string } {
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') return { status: 408, text: 'Request Timeout' };
  if (code === 'HPE_HEADER_OVERFLOW') return { status: 431, text: 'Request Header Fields Too Large' };
  return { status: 400, text: 'Bad Request' };
}

/**
 * Bytes that do not parse as HTTP (bad chunk framing, oversized headers), or
 * a request over HTTP_REQUEST_TIMEOUT. Node's default would write a bare 400
 * even over an answer still being written; instead:
 * - a request whose body broke off (it waits for bytes that will never
 *   parse) is answered now, with `Connection: close`; closing the connection
 *   then aborts its handler;
 * - an answer already being written, or still to come for a request whose
 *   body was whole, goes out first, then the connection closes;
 * - with no request in progress, the answer is written to the socket directly.
 */
/** Sockets answered by onClientError and lingering: node's parser reports each further chunk as another error. */
const lingering = new WeakSet<Duplex>();

function onClientError(err: NodeJS.ErrnoException, socket: Duplex, lingerMs: number): void {
  if (lingering.has(socket)) return;
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
  const answer = clientErrorAnswer(err.code);
  if (pending && !pending.writableFinished) {
    // A request whose body was complete is not the one at fault (e.g. junk
    // past its Content-Length): its own answer comes first.
    if (!pending.headersSent && (timeout || !pending.req.complete)) {
      // A request too slow as a whole gets the answer of SPEC §1.1.
      const text = timeout ? 'Discarded=timeout' : answer.text;
      pending.writeHead(answer.status, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': text.length, Connection: 'close' }).end(text);
    } else if (pending.headersSent && timeout) {
      socket.destroy();
      return;
    } else if (pending.headersSent && pending.getHeader('content-length') !== undefined) {
      // Our answers are written whole at once (see respond.ts): one kept open
      // while the body is discarded is complete, so finish it now.
      pending.end();
    }
    pending.once('close', () => socket.destroy());
    return;
  }
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  socket.end(
    `HTTP/1.1 ${answer.status} ${http.STATUS_CODES[answer.status]}\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${answer.text.length}\r\n\r\n${answer.text}`,
  );
  // The client may still be sending (the rest of a 1 MB header block): closing
  // with unread bytes makes the kernel reset the connection, which can destroy
  // the answer before the client reads it (1 time in 10 in the chaos corpus).
  // Read and drop what still comes, for BREAKPAD_REJECT_LINGER_SECONDS at most.
  lingering.add(socket);
  socket.on('data', () => {});
  socket.resume();
  const linger = setTimeout(() => socket.destroy(), lingerMs);
  linger.unref();
  socket.once('close', () => clearTimeout(linger));
}
