/** HTTP plumbing of the fake GCS server: JSON API errors, bodies in and out, multipart and `x-goog-hash` parsing. */
import type http from 'node:http';

/** How to answer a request; an object body is sent as JSON. */
export interface Reply {
  status: number;
  headers?: Record<string, string>;
  body?: Buffer | string | Record<string, unknown>;
}

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly reason: string,
  ) {
    super(message);
  }
}

export const notFound = (message: string) => new HttpError(404, message, 'notFound');
export const badRequest = (message: string) => new HttpError(400, message, 'invalid');

function errorBody(status: number, message: string, reason: string): string {
  return JSON.stringify({ error: { code: status, message, errors: [{ message, domain: 'global', reason }] } });
}

export function readBody(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** Splits a `multipart/related` body into its parts (headers lower-cased). */
export function parseMultipart(body: Buffer, boundary: string): Array<{ headers: Record<string, string>; data: Buffer }> {
  const delimiter = Buffer.from(`--${boundary}`);
  const parts: Array<{ headers: Record<string, string>; data: Buffer }> = [];
  let pos = body.indexOf(delimiter);
  if (pos < 0) throw badRequest('multipart body without its boundary');
  for (;;) {
    pos += delimiter.length;
    if (body.subarray(pos, pos + 2).toString() === '--') break;
    const next = body.indexOf(delimiter, pos);
    if (next < 0) throw badRequest('multipart body is truncated');
    let part = body.subarray(pos, next);
    if (part.subarray(0, 2).toString() === '\r\n') part = part.subarray(2);
    if (part.subarray(part.length - 2).toString() === '\r\n') part = part.subarray(0, part.length - 2);
    const split = part.indexOf('\r\n\r\n');
    const headerText = split < 0 ? '' : part.subarray(0, split).toString();
    const headers: Record<string, string> = {};
    for (const line of headerText.split('\r\n')) {
      const colon = line.indexOf(':');
      if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    parts.push({ headers, data: split < 0 ? part : part.subarray(split + 4) });
    pos = next;
  }
  return parts;
}

/** `crc32c=…,md5=…` → { crc32c, md5 } */
export function parseGoogHash(header: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of (header ?? '').split(',')) {
    const eq = pair.indexOf('=');
    if (eq > 0) out[pair.slice(0, eq).trim()] = pair.slice(eq + 1).trim();
  }
  return out;
}

export function send(res: http.ServerResponse, reply: Reply): void {
  const headers: Record<string, string> = { ...reply.headers };
  let body: Buffer;
  if (Buffer.isBuffer(reply.body)) body = reply.body;
  else if (typeof reply.body === 'string' || reply.body === undefined) body = Buffer.from(reply.body ?? '');
  else {
    body = Buffer.from(JSON.stringify(reply.body));
    headers['content-type'] = 'application/json; charset=UTF-8';
  }
  if (reply.status === 204) body = Buffer.alloc(0);
  headers['content-length'] = String(body.length);
  res.writeHead(reply.status, headers).end(body);
}

export function sendError(res: http.ServerResponse, status: number, message: string, reason: string): void {
  send(res, { status, headers: { 'content-type': 'application/json; charset=UTF-8' }, body: errorBody(status, message, reason) });
}
