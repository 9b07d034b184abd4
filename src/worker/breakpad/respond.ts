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
 * Answers before the body was read whole. The rest is read and discarded
 * without buffering, so the client sees the answer instead of a reset: had we
 * closed at once (`Connection: close`), Node would destroy the socket with
 * unread bytes in it and the kernel would send RST, which clients report as
 * EPIPE/ECONNRESET before they read our 413. A client still sending after
 * LINGER_MS is cut off, so nobody can keep us reading forever.
 */
export function sendTextAndDiscard(req: IncomingMessage, res: ServerResponse, status: number, body: string): void {
  sendText(res, status, body);
  if (req.complete) return;
  req.resume();
  const timer = setTimeout(() => req.socket?.destroy(), LINGER_MS).unref();
  req.once('end', () => clearTimeout(timer));
  req.once('close', () => clearTimeout(timer));
}
