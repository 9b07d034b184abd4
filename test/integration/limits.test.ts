import net from 'node:net';
import { gzipSync } from 'node:zlib';
import { crashBody, crashFiles, crashIdFrom, crashParts, fakeDump } from '../support/crashes';
import { get, post } from '../support/http';
import { startServer, type RunningServer } from '../support/server';
import { sleep, waitFor } from '../support/wait';

/**
 * The request path's bounds, at the wire, with raw sockets: slow bodies,
 * broken framing, oversized headers, `Connection: close`, gzip bombs, the
 * worker's memory budget and its connection cap.
 */

/** A raw connection that records what the server sends and when it closes. */
interface Raw {
  socket: net.Socket;
  received(): string;
  closed: Promise<void>;
  isClosed(): boolean;
  /** Resolves with everything received once a whole answer (headers and Content-Length body) is in, or throws after `ms`. */
  answer(ms: number): Promise<Answer>;
}

interface Answer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

function parseAnswer(text: string): Answer | undefined {
  const end = text.indexOf('\r\n\r\n');
  if (end < 0) return undefined;
  const [statusLine, ...lines] = text.slice(0, end).split('\r\n');
  const headers: Record<string, string> = {};
  for (const l of lines) {
    const i = l.indexOf(':');
    headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
  }
  const length = Number(headers['content-length'] ?? 0);
  const body = text.slice(end + 4);
  if (Buffer.byteLength(body) < length) return undefined;
  return { status: Number(statusLine!.split(' ')[1]), headers, body: body.slice(0, length) };
}

async function connect(port: number): Promise<Raw> {
  const socket = net.connect(port, '127.0.0.1');
  let text = '';
  let closedFlag = false;
  socket.on('data', (c: Buffer) => (text += c.toString('latin1')));
  socket.on('error', () => {});
  const closed = new Promise<void>((resolve) => socket.once('close', () => ((closedFlag = true), resolve())));
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  return {
    socket,
    received: () => text,
    closed,
    isClosed: () => closedFlag,
    async answer(ms) {
      await waitFor(`an answer (got ${JSON.stringify(text.slice(0, 200))})`, () => parseAnswer(text) !== undefined, ms, 50);
      return parseAnswer(text)!;
    },
  };
}

/** Whether the server closed `raw` within `ms`. */
async function closedWithin(raw: Raw, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([raw.closed, new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
  return raw.isClosed();
}

const write = (raw: Raw, data: string | Buffer) => new Promise<void>((resolve) => (raw.socket.writable ? raw.socket.write(data, () => resolve()) : resolve()));

/** A label-less metric from `/metrics` (summed over workers). */
async function metric(server: RunningServer, name: string): Promise<number> {
  const text = (await get(`${server.url}/metrics`)).text;
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return Number(line?.split(' ')[1]);
}

function submitHead(contentType: string, extra: Record<string, string | number>): string {
  const lines = Object.entries({ Host: 'x', 'Content-Type': contentType, ...extra }).map(([k, v]) => `${k}: ${v}`);
  return `POST /submit HTTP/1.1\r\n${lines.join('\r\n')}\r\n\r\n`;
}

describe('slow and broken transfers', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startServer({
      WORKERS: '1',
      BREAKPAD_BODY_TIMEOUT_SECONDS: '3',
      BREAKPAD_REJECT_LINGER_SECONDS: '1',
      BREAKPAD_MIN_BODY_RATE: '100',
      BREAKPAD_MIN_BODY_RATE_WINDOW_SECONDS: '2',
    });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('answers a body trickled at 1 byte/s with 408 Discarded=timeout and Connection: close, then closes', async () => {
    const { body, contentType } = crashBody(crashParts({ ProductName: 'Test' }, { upload_file_minidump: fakeDump(1000) }));
    const raw = await connect(server.port);
    try {
      await write(raw, submitHead(contentType, { 'Content-Length': body.length }));
      // Each byte comes well within the 3 s idle timeout: only the rate limit stops it.
      let sent = 0;
      const trickle = setInterval(() => void write(raw, body.subarray(sent, ++sent)), 1000);
      try {
        const a = await raw.answer(15_000);
        expect([a.status, a.body, a.headers.connection]).toEqual([408, 'Discarded=timeout', 'close']);
      } finally {
        clearInterval(trickle);
      }
      expect(await closedWithin(raw, 10_000)).toBe(true);
    } finally {
      raw.socket.destroy();
    }
  });

  it('answers an invalid chunk size at once with 400 and Connection: close, not 408 after the body timeout', async () => {
    const { body, contentType } = crashBody(crashParts({ ProductName: 'Test' }, { upload_file_minidump: fakeDump(1000) }));
    const raw = await connect(server.port);
    try {
      await write(raw, submitHead(contentType, { 'Transfer-Encoding': 'chunked' }));
      await write(raw, `${body.length.toString(16)}\r\n`);
      await write(raw, body.subarray(0, body.length));
      await write(raw, '\r\nzz-not-a-size\r\n');
      // Well before BREAKPAD_BODY_TIMEOUT_SECONDS (3 s) would answer 408.
      const a = await raw.answer(2500);
      expect([a.status, a.headers.connection]).toEqual([400, 'close']);
      expect(await closedWithin(raw, 5000)).toBe(true);
    } finally {
      raw.socket.destroy();
    }
    // The aborted upload left nothing in flight, and the worker serves on.
    await waitFor('no upload in flight', async () => (await metric(server, 'antenna_in_flight')) === 0, 10_000);
    const res = await post(`${server.url}/submit`, { headers: { 'Content-Type': contentType, 'Content-Length': body.length }, body });
    expect(res.status).toBe(200);
  });

  it('answers 431 to a 20 KB header, and closes', async () => {
    const raw = await connect(server.port);
    try {
      await write(raw, `GET /__lbheartbeat__ HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
      const a = await raw.answer(5000);
      expect([a.status, a.headers.connection]).toEqual([431, 'close']);
      expect(await closedWithin(raw, 5000)).toBe(true);
    } finally {
      raw.socket.destroy();
    }
  });

  describe('honours Connection: close on early answers, and closes once the body is read', () => {
    const { body, contentType } = crashBody(crashParts({ ProductName: 'Test' }, { upload_file_minidump: fakeDump(50_000) }));

    it('400 (a bad header, body still coming)', async () => {
      const raw = await connect(server.port);
      try {
        await write(raw, submitHead('multipart/form-data', { 'Content-Length': body.length, Connection: 'close' }));
        await write(raw, body.subarray(0, 10_000));
        const a = await raw.answer(5000);
        expect([a.status, a.body, a.headers.connection]).toEqual([400, 'Discarded=malformed_no_boundary', 'close']);
        await write(raw, body.subarray(10_000));
        expect(await closedWithin(raw, 5000)).toBe(true);
      } finally {
        raw.socket.destroy();
      }
    });

    it('413 (Content-Length over the limit)', async () => {
      const raw = await connect(server.port);
      try {
        await write(raw, submitHead(contentType, { 'Content-Length': 26214401, Connection: 'close' }));
        const a = await raw.answer(5000);
        expect([a.status, a.body, a.headers.connection]).toEqual([413, 'Discarded=too_large', 'close']);
        expect(await closedWithin(raw, 5000)).toBe(true);
      } finally {
        raw.socket.destroy();
      }
    });

    it('408 (a body that stops), whether or not the client asked', async () => {
      for (const connection of [{ Connection: 'close' }, {}] as Array<Record<string, string>>) {
        const raw = await connect(server.port);
        try {
          await write(raw, submitHead(contentType, { 'Content-Length': body.length, ...connection }));
          await write(raw, body.subarray(0, 1000));
          const a = await raw.answer(10_000);
          expect([a.status, a.body, a.headers.connection]).toEqual([408, 'Discarded=timeout', 'close']);
          expect(await closedWithin(raw, 5000)).toBe(true);
        } finally {
          raw.socket.destroy();
        }
      }
    });
  });

  it('refuses a gzip bomb (97 KB inflating to 95 MiB) with 413 and stores nothing', async () => {
    const { body, contentType } = crashBody(crashParts({ ProductName: 'Test' }, { upload_file_minidump: Buffer.alloc(95 * 1024 * 1024) }));
    const gz = gzipSync(body);
    expect(gz.length).toBeLessThan(200 * 1024);
    const before = crashFiles(server.fsRoot);
    const res = await post(`${server.url}/submit`, {
      headers: { 'Content-Type': contentType, 'Content-Encoding': 'gzip', 'Content-Length': gz.length },
      body: gz,
    });
    expect([res.status, res.text]).toEqual([413, 'Discarded=too_large']);
    expect(crashFiles(server.fsRoot)).toEqual(before);
  });
});

describe('the worker memory budget', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startServer({
      WORKERS: '1',
      BREAKPAD_MAX_PAYLOAD_SIZE: '1048576',
      BREAKPAD_MAX_DECOMPRESSED_SIZE: '1048576',
      BREAKPAD_WORKER_MEMORY_BUDGET: '1048576',
      CRASHMOVER_RETRY_AFTER_SECONDS: '7',
    });
  });
  afterAll(async () => {
    await server?.stop();
  });

  const bytesInMemory = () => metric(server, 'antenna_body_bytes_in_memory');

  it('refuses with 503 and Retry-After the upload that would go past it, takes the other, and frees every byte after', async () => {
    // Two uploads of 700 KB on one worker with a 1 MiB budget: both cannot be held at once.
    const a = crashBody(crashParts({ ProductName: 'Test' }, { upload_file_minidump: fakeDump(700_000, 1) }));
    const b = crashBody(crashParts({ ProductName: 'Test' }, { upload_file_minidump: fakeDump(700_000, 2) }));
    const first = await connect(server.port);
    const second = await connect(server.port);
    try {
      await write(first, submitHead(a.contentType, { 'Content-Length': a.body.length }));
      await write(first, a.body.subarray(0, 400_000));
      await waitFor('the first upload held', async () => (await bytesInMemory()) >= 400_000, 10_000);
      await write(second, submitHead(b.contentType, { 'Content-Length': b.body.length }));
      await write(second, b.body);
      const refused = await second.answer(10_000);
      expect(refused.status).toBe(503);
      expect(refused.headers['retry-after']).toBe('7');
      expect(refused.body).toMatch(/BREAKPAD_WORKER_MEMORY_BUDGET/);

      await write(first, a.body.subarray(400_000));
      const taken = await first.answer(10_000);
      expect(taken.status).toBe(200);
      crashIdFrom(taken.body);
    } finally {
      first.socket.destroy();
      second.socket.destroy();
    }
    await waitFor('the budget released', async () => (await bytesInMemory()) === 0, 10_000);

    // Refused and aborted uploads give their bytes back too: the same upload now fits.
    const res = await post(`${server.url}/submit`, { headers: { 'Content-Type': b.contentType, 'Content-Length': b.body.length }, body: b.body });
    expect(res.status).toBe(200);
    for (let i = 0; i < 5; i++) {
      const half = await connect(server.port);
      await write(half, submitHead(b.contentType, { 'Content-Length': b.body.length }));
      await write(half, b.body.subarray(0, 300_000));
      half.socket.destroy();
    }
    await waitFor('the budget released after aborted uploads', async () => (await bytesInMemory()) === 0, 10_000);
  });
});

describe('the per-worker connection cap', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startServer({ WORKERS: '1', MAX_CONNECTIONS_PER_WORKER: '4' });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('closes connections past MAX_CONNECTIONS_PER_WORKER at once, and serves again once below it', async () => {
    const held: Raw[] = [];
    try {
      for (let i = 0; i < 4; i++) {
        const raw = await connect(server.port);
        await write(raw, 'GET /__lbheartbeat__ HTTP/1.1\r\nHost: x\r\n'); // headers never finished
        held.push(raw);
      }
      await sleep(200);
      const extra = await connect(server.port);
      await write(extra, 'GET /__lbheartbeat__ HTTP/1.1\r\nHost: x\r\n\r\n');
      expect(await closedWithin(extra, 5000)).toBe(true);
      expect(extra.received()).toBe('');
      expect(held.every((r) => !r.isClosed())).toBe(true);
    } finally {
      for (const r of held) r.socket.destroy();
    }
    await waitFor('a health probe answered', async () => (await get(`${server.url}/__lbheartbeat__`).catch(() => ({ status: 0 }))).status === 200, 10_000);
    expect(await metric(server, 'antenna_connections_dropped_total')).toBeGreaterThanOrEqual(1);
    await server.waitForLog(/closed a new connection: this worker has MAX_CONNECTIONS_PER_WORKER \(4\) open/, 5000);
  });
});
