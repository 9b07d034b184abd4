import type { IncomingMessage, ServerResponse } from 'node:http';

/** How long a connection may keep sending an unwanted body after we answered. */
const LINGER_MS = 2000;

export function sendText(res: ServerResponse, status: number, body: string): void {
  if (res.headersSent) return;
  res.statusCode = status;
  res.setHeader('Content-Type', 'text/plain; charset=utf-8');
  res.setHeader('Content-Length', Buffer.byteLength(body));
  res.end(body);
}

/**
 * Answers before the body was read whole: the rest is discarded without
 * buffering, and the connection is closed shortly after the answer so a
 * client cannot keep us reading forever.
 */
export function sendTextAndClose(req: IncomingMessage, res: ServerResponse, status: number, body: string): void {
  if (!req.complete && !res.headersSent) res.setHeader('Connection', 'close');
  sendText(res, status, body);
  if (req.complete) return;
  req.resume();
  res.once('finish', () => {
    setTimeout(() => req.socket?.destroy(), LINGER_MS).unref();
  });
}
