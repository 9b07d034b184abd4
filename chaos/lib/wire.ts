/**
 * One HTTP exchange over a raw TCP socket, so that a request can be anything
 * at all on the wire (bad framing, lying Content-Length, giant headers) and
 * the answer — or its absence — is seen exactly as a client would see it.
 */
import net from 'node:net';

export interface WireRequest {
  /** Bytes written in order; a pause of `gapMs` between two pieces. */
  pieces: Buffer[];
  gapMs?: number;
  /** Half-close (FIN) after the last piece: the client gives up on its body. */
  endAfter?: boolean;
  /** Stop writing after this many pieces and just wait (a stalled client). */
  stallAfter?: number;
}

export interface WireAnswer {
  /** 0 when no complete answer came. */
  status: number;
  headers: Record<string, string>;
  body: string;
  /** Why there is no answer: 'closed' (the server closed or reset first), 'timeout', or a socket error code. */
  noAnswer?: string;
  ms: number;
}

interface Parsed {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

/** Parses the first final (non-1xx) response in `buf`, or undefined if it is not complete yet (`closed`: no more bytes will come). */
export function parseResponse(buf: Buffer, closed: boolean): Parsed | undefined {
  let offset = 0;
  for (;;) {
    const headEnd = buf.indexOf('\r\n\r\n', offset);
    if (headEnd < 0) return undefined;
    const lines = buf.subarray(offset, headEnd).toString('latin1').split('\r\n');
    const m = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? '');
    if (!m) return undefined;
    const status = Number(m[1]);
    const headers: Record<string, string> = {};
    for (const line of lines.slice(1)) {
      const i = line.indexOf(':');
      if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
    }
    const bodyStart = headEnd + 4;
    if (status >= 100 && status < 200) {
      offset = bodyStart;
      continue;
    }
    if (headers['transfer-encoding']?.toLowerCase().includes('chunked')) {
      const chunks: Buffer[] = [];
      let p = bodyStart;
      for (;;) {
        const lineEnd = buf.indexOf('\r\n', p);
        if (lineEnd < 0) return undefined;
        const size = parseInt(buf.subarray(p, lineEnd).toString('latin1'), 16);
        if (Number.isNaN(size)) return { status, headers, body: Buffer.concat(chunks) };
        if (size === 0) return { status, headers, body: Buffer.concat(chunks) };
        if (buf.length < lineEnd + 2 + size + 2) return undefined;
        chunks.push(buf.subarray(lineEnd + 2, lineEnd + 2 + size));
        p = lineEnd + 2 + size + 2;
      }
    }
    const length = headers['content-length'];
    if (length !== undefined) {
      const n = Number(length);
      if (buf.length - bodyStart < n) return undefined;
      return { status, headers, body: buf.subarray(bodyStart, bodyStart + n) };
    }
    // No length: the body runs to the close.
    return closed ? { status, headers, body: buf.subarray(bodyStart) } : undefined;
  }
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Sends `req` to 127.0.0.1:`port` and waits (at most `timeoutMs`) for the first final answer. */
export function exchange(port: number, req: WireRequest, timeoutMs = 20000): Promise<WireAnswer> {
  const started = performance.now();
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port, allowHalfOpen: true });
    const received: Buffer[] = [];
    let settled = false;
    const finish = (parsed: Parsed | undefined, noAnswer?: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      const ms = performance.now() - started;
      if (parsed) resolve({ status: parsed.status, headers: parsed.headers, body: parsed.body.toString('utf8'), ms });
      else resolve({ status: 0, headers: {}, body: '', noAnswer: noAnswer ?? 'closed', ms });
    };
    const timer = setTimeout(() => finish(parseResponse(Buffer.concat(received), true), 'timeout'), timeoutMs);
    socket.on('data', (chunk: Buffer) => {
      received.push(chunk);
      const parsed = parseResponse(Buffer.concat(received), false);
      if (parsed) finish(parsed);
    });
    socket.on('end', () => finish(parseResponse(Buffer.concat(received), true), 'closed'));
    socket.on('close', () => finish(parseResponse(Buffer.concat(received), true), 'closed'));
    socket.on('error', (err: NodeJS.ErrnoException) => {
      // A reset can follow an answer the server already sent: use what arrived.
      finish(parseResponse(Buffer.concat(received), true), err.code ?? err.message);
    });
    socket.on('connect', () => {
      void (async () => {
        const n = req.stallAfter ?? req.pieces.length;
        for (let i = 0; i < n && !settled; i++) {
          const ok = socket.write(req.pieces[i]!);
          if (!ok) {
            await new Promise<void>((r) => {
              const go = () => (socket.off('drain', go), socket.off('close', go), r());
              socket.on('drain', go);
              socket.on('close', go);
            });
          }
          if (req.gapMs && i < n - 1) await sleep(req.gapMs);
        }
        if (req.endAfter && !settled) socket.end();
      })().catch(() => undefined);
    });
  });
}
