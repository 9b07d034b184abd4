import type { IncomingMessage, ServerResponse } from 'node:http';

export function sendText(res: ServerResponse, status: number, body: string): void {
  if (res.headersSent) return;
  res.statusCode = status;
  res.setHeader('Content-Type', 'text/plain; charset=utf-8');
  res.setHeader('Content-Length', Buffer.byteLength(body));
  res.end(body);
}

/**
 * Answers before the body was read whole, then reads and discards the rest
 * without buffering, so the client gets to read the answer. Node would
 * otherwise close the socket as soon as the answer is written (it always does
 * when the client sent `Connection: close`), with unread bytes in it: the
 * kernel then sends RST and the client reports EPIPE/ECONNRESET instead of
 * our 413. A client still sending after `lingerMs` is cut off, so nobody can
 * keep us reading forever.
 *
 * The connection is kept for the next request unless the client asked to
 * close it or `close` is set; then the answer says `Connection: close` and the
 * connection closes once the body is read (or at `lingerMs`).
 */
export function sendTextAndDiscard(
  req: IncomingMessage,
  res: ServerResponse,
  status: number,
  body: string,
  lingerMs: number,
  opts: { close?: boolean } = {},
): void {
  const close = opts.close === true || !clientKeepsAlive(req) || /\bclose\b/i.test(String(res.getHeader('connection') ?? ''));
  if (req.complete) {
    if (close && !res.headersSent) res.setHeader('Connection', 'close');
    sendText(res, status, body);
    return;
  }
  if (res.headersSent) return;
  res.statusCode = status;
  res.setHeader('Content-Type', 'text/plain; charset=utf-8');
  res.setHeader('Content-Length', Buffer.byteLength(body));
  if (close) {
    // Node destroys the socket the moment an answer with `Connection: close`
    // finishes, unread body and all. So the whole answer is written now, and
    // finished (which closes the connection cleanly) once the body is read.
    res.setHeader('Connection', 'close');
    res.write(body);
  } else {
    res.shouldKeepAlive = true;
    res.end(body);
  }
  req.resume();
  const socket = req.socket;
  const timer = setTimeout(() => socket.destroy(), lingerMs).unref();
  req.once('end', () => {
    clearTimeout(timer);
    if (close) res.end();
  });
  req.once('close', () => clearTimeout(timer));
}

function clientKeepsAlive(req: IncomingMessage): boolean {
  const connection = req.headers.connection ?? '';
  if (/\bclose\b/i.test(connection)) return false;
  return req.httpVersion !== '1.0' || /\bkeep-alive\b/i.test(connection);
}
