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
 */
export function sendTextAndDiscard(req: IncomingMessage, res: ServerResponse, status: number, body: string, lingerMs: number): void {
  if (req.complete) {
    sendText(res, status, body);
    return;
  }
  res.shouldKeepAlive = true;
  sendText(res, status, body);
  req.resume();
  const socket = req.socket;
  const timer = setTimeout(() => socket.destroy(), lingerMs).unref();
  req.once('end', () => {
    clearTimeout(timer);
    // Everything was read, so closing now is a clean FIN, not a reset.
    if (!clientKeepsAlive(req)) socket.end();
  });
  req.once('close', () => clearTimeout(timer));
}

function clientKeepsAlive(req: IncomingMessage): boolean {
  const connection = req.headers.connection ?? '';
  if (/\bclose\b/i.test(connection)) return false;
  return req.httpVersion !== '1.0' || /\bkeep-alive\b/i.test(connection);
}
