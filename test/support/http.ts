import http from 'node:http';
import https from 'node:https';

export interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  ms: number;
}

export interface PostOptions {
  headers?: Record<string, string | number>;
  /** The body; an array is sent chunk by chunk (Transfer-Encoding: chunked unless a Content-Length is given). */
  body?: Buffer | Buffer[];
  /** Pause between chunks, ms. */
  chunkDelayMs?: number;
  /** Stop sending after the chunks (keeps the connection open without ending the body). */
  hang?: boolean;
  ca?: Buffer;
  agent?: http.Agent | false;
  timeoutMs?: number;
}

/** An HTTP request with full control of the body's framing, for the wire-level cases of SPEC §1.1. */
export function request(method: string, url: string, opts: PostOptions = {}): Promise<Answer> {
  const started = performance.now();
  const u = new URL(url);
  const client = u.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = client.request(u, { method, headers: opts.headers, agent: opts.agent ?? false, ca: opts.ca, timeout: opts.timeoutMs ?? 60000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString(), ms: performance.now() - started }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error(`request to ${url} timed out`)));
    const body = opts.body;
    if (body === undefined) {
      req.end();
    } else if (Buffer.isBuffer(body)) {
      req.end(body);
    } else {
      void (async () => {
        for (const chunk of body) {
          if (req.destroyed) return;
          req.write(chunk);
          if (opts.chunkDelayMs) await new Promise((r) => setTimeout(r, opts.chunkDelayMs));
        }
        if (!opts.hang) req.end();
      })();
    }
  });
}

export const post = (url: string, opts: PostOptions = {}) => request('POST', url, opts);
export const get = (url: string, opts: PostOptions = {}) => request('GET', url, opts);
