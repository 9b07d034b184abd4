/**
 * The hostile-input corpus: requests that a crash collector on the open
 * internet will meet, in named categories, generated deterministically from a
 * seed (case `i` is the same bytes on every run, so a failure is replayable
 * with `--only fuzz --seed S`).
 *
 * What every case must get (SPEC §1): a 4xx, or a 200 whose crash is stored
 * byte for byte — never a 5xx, never a connection closed without an answer
 * when the client sent a complete request and waited, and the node stays up.
 */
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import type { WireRequest } from './wire';

/** What storage must hold for an acknowledged case. */
export interface ExpectedCrash {
  /** `ChaosCase` annotation the raw crash must carry (undefined: not checked). */
  marker?: string;
  /** Dumps by stored name → the bytes that may be stored under it (several when the name was sent twice); 'consistent' checks only that dump_names, the dumps and dump_checksums agree. */
  dumps: Map<string, Buffer[]> | 'consistent';
  /** The crash id the answer must carry (an authorized `uuid`). */
  id?: string;
}

export interface FuzzCase {
  index: number;
  category: string;
  request: WireRequest;
  /** The client sent a complete request and waited: it is owed an answer. */
  answerDue: boolean;
  /** A well-formed control: anything but 200 CrashID is a failure. */
  mustAccept: boolean;
  expect?: ExpectedCrash;
}

type Built = Omit<FuzzCase, 'index' | 'category'>;

interface Ctx {
  rng: Rng;
  /** Unique per case and seed, carried as the `ChaosCase` annotation. */
  marker: string;
}

export interface Category {
  name: string;
  /** Relative frequency in the corpus (expensive cases are rarer). */
  weight: number;
  build(ctx: Ctx): Built;
}

/** The token the server under test must be started with. */
export const CHAOS_TOKEN = 'chaos-submitter-token-0123456789';
/**
 * Server environment the corpus assumes: the submitter token, and a body
 * timeout of 3 s instead of 30 so that cases whose body never completes get
 * their 408 within the run. Everything else at its default.
 */
export const CORPUS_SERVER_ENV: Record<string, string> = { BREAKPAD_STAGE_SUBMITTER_BEARER_TOKEN: CHAOS_TOKEN, BREAKPAD_BODY_TIMEOUT_SECONDS: '3' };

// ---------------------------------------------------------------- randomness

export interface Rng {
  /** [0, 1) */
  next(): number;
  int(lo: number, hi: number): number;
  pick<T>(items: readonly T[]): T;
  bytes(n: number): Buffer;
}

/** mulberry32, seeded from (seed, index) through sha256 so nearby indexes are unrelated. */
export function rngFor(seed: number, index: number): Rng {
  let a = createHash('sha256').update(`${seed}:${index}`).digest().readUInt32LE(0);
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1));
  return {
    next,
    int,
    pick: (items) => items[Math.floor(next() * items.length)]!,
    bytes(n) {
      const b = Buffer.alloc(n);
      for (let i = 0; i < n; i += 4) {
        const v = Math.floor(next() * 4294967296);
        for (let k = 0; k < 4 && i + k < n; k++) b[i + k] = (v >>> (8 * k)) & 0xff;
      }
      return b;
    },
  };
}

/** Minidump-like bytes: MDMP, then random bytes with CRLFs and boundary-like dashes in them. */
export function dumpBytes(rng: Rng, size: number): Buffer {
  const b = rng.bytes(Math.max(size, 8));
  b.write('MDMP', 0);
  for (let i = 16; i + 4 < b.length; i += rng.int(64, 4096)) b.write('\r\n--', i, 'latin1');
  return b;
}

// ---------------------------------------------------------------- the wire

type Header = [string, string];

export interface MPart {
  name?: string;
  filename?: string;
  contentType?: string;
  /** Raw header lines instead of the generated ones. */
  rawHead?: Buffer;
  data: Buffer | string;
}

export const boundaryFor = (rng: Rng) => `------------------------chaos${rng.bytes(8).toString('hex')}`;

export function multipart(parts: MPart[], boundary: string, eol = '\r\n'): Buffer {
  const out: Buffer[] = [];
  for (const p of parts) {
    out.push(Buffer.from(`--${boundary}${eol}`, 'latin1'));
    if (p.rawHead) out.push(p.rawHead);
    else {
      let head = 'Content-Disposition: form-data';
      if (p.name !== undefined) head += `; name="${p.name}"`;
      if (p.filename !== undefined) head += `; filename="${p.filename}"`;
      out.push(Buffer.from(head + eol, 'utf8'));
      if (p.contentType) out.push(Buffer.from(`Content-Type: ${p.contentType}${eol}`, 'latin1'));
    }
    out.push(Buffer.from(eol), Buffer.isBuffer(p.data) ? p.data : Buffer.from(p.data, 'utf8'), Buffer.from(eol));
  }
  out.push(Buffer.from(`--${boundary}--${eol}`, 'latin1'));
  return Buffer.concat(out);
}

export function head(method: string, target: string, headers: Header[], version = 'HTTP/1.1'): Buffer {
  return Buffer.from(`${method} ${target} ${version}\r\nHost: 127.0.0.1\r\n${headers.map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`, 'latin1');
}

/** A POST /submit with a Content-Length that tells the truth. */
export function post(headers: Header[], body: Buffer, target = '/submit'): WireRequest {
  return { pieces: [head('POST', target, [...headers, ['Content-Length', String(body.length)]]), body] };
}

/** The body as chunked transfer coding, cut at random places. */
export function chunked(rng: Rng, body: Buffer): Buffer {
  const out: Buffer[] = [];
  for (let i = 0; i < body.length;) {
    const n = Math.min(body.length - i, rng.int(1, 8192));
    out.push(Buffer.from(`${n.toString(16)}\r\n`), body.subarray(i, i + n), Buffer.from('\r\n'));
    i += n;
  }
  out.push(Buffer.from('0\r\n\r\n'));
  return Buffer.concat(out);
}

const mp = (boundary: string, type = 'multipart/form-data'): Header => ['Content-Type', `${type}; boundary=${boundary}`];

// ---------------------------------------------------------------- crashes

/** What SPEC §1.2 stores a dump part under. */
export const sanitizeDumpName = (name: string) => name.replace(/[^A-Za-z0-9_]/g, '').slice(0, 30);

interface CrashParts {
  parts: MPart[];
  expect: ExpectedCrash;
}

function annotations(ctx: Ctx): MPart[] {
  return [
    { name: 'ProductName', data: 'Chaos' },
    { name: 'Version', data: `1.${ctx.rng.int(0, 99)}` },
    { name: 'ChaosCase', data: ctx.marker },
  ];
}

/** A normal crash: three annotations and 1–3 dumps (the minidump first). */
function crash(ctx: Ctx, opts: { dumps?: number; maxDump?: number } = {}): CrashParts {
  const { rng } = ctx;
  const dumps = new Map<string, Buffer[]>();
  const parts = annotations(ctx);
  const n = opts.dumps ?? rng.int(1, 3);
  for (let i = 0; i < n; i++) {
    const name =
      i === 0 ? 'upload_file_minidump' : rng.pick(['memory_report', 'upload_file_minidump_browser', 'upload_file_minidump_content', `extra_dump_${i}`]);
    if (dumps.has(name)) continue;
    const data = dumpBytes(rng, rng.int(64, opts.maxDump ?? 12000));
    dumps.set(name, [data]);
    parts.push({ name, filename: `${name}.dmp`, contentType: 'application/octet-stream', data });
  }
  return { parts, expect: { marker: ctx.marker, dumps } };
}

function dumpPart(name: string, data: Buffer): MPart {
  return { name, filename: 'x.dmp', contentType: 'application/octet-stream', data };
}

/** A crash whose annotations travel as one JSON `extra` part built from `json` (which must carry the marker). */
function jsonCrash(ctx: Ctx, json: string): CrashParts {
  const data = dumpBytes(ctx.rng, ctx.rng.int(64, 4000));
  return {
    parts: [{ name: 'extra', contentType: 'application/json', data: json }, dumpPart('upload_file_minidump', data)],
    expect: { marker: ctx.marker, dumps: new Map([['upload_file_minidump', [data]]]) },
  };
}

function deepJson(ctx: Ctx, depth: number): string {
  const open: string[] = [];
  const close: string[] = [];
  for (let i = 0; i < depth; i++) {
    if (ctx.rng.next() < 0.5) {
      open.push('[');
      close.push(']');
    } else {
      open.push('{"k":');
      close.push('}');
    }
  }
  return `{"ProductName":"Chaos","ChaosCase":"${ctx.marker}","deep":${open.join('')}1${close.reverse().join('')}}`;
}

/** A crash id as SPEC §1.4 makes them, dated today (UTC). */
function crashIdFor(rng: Rng): string {
  const hex = rng.bytes(16).toString('hex');
  const d = new Date();
  const date = `${String(d.getUTCFullYear()).slice(2)}${String(d.getUTCMonth() + 1).padStart(2, '0')}${String(d.getUTCDate()).padStart(2, '0')}`;
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 25)}0${date}`;
}

/** A gzip that inflates past the 100 MiB limit (built once: ~100 KB on the wire). */
let bomb: Buffer | undefined;
function gzipBomb(): Buffer {
  if (!bomb) {
    const boundary = 'chaosbomb';
    const headPart = Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="ProductName"\r\n\r\nChaos\r\n--${boundary}\r\nContent-Disposition: form-data; name="upload_file_minidump"; filename="x.dmp"\r\nContent-Type: application/octet-stream\r\n\r\n`,
    );
    bomb = gzipSync(Buffer.concat([headPart, Buffer.alloc(101 * 1024 * 1024), Buffer.from(`\r\n--${boundary}--\r\n`)]), { level: 9 });
  }
  return bomb;
}

const crashPost = (c: CrashParts, rng: Rng, type = 'multipart/form-data'): WireRequest => {
  const b = boundaryFor(rng);
  return post([mp(b, type)], multipart(c.parts, b));
};
const due = (request: WireRequest, extra: Partial<Built> = {}): Built => ({ request, answerDue: true, mustAccept: false, ...extra });
const accepted = (c: CrashParts, request: WireRequest): Built => ({ request, answerDue: true, mustAccept: true, expect: c.expect });
/** A request that may be accepted; then what was stored must match `c`. */
const maybe = (c: CrashParts, request: WireRequest): Built => ({ request, answerDue: true, mustAccept: false, expect: c.expect });

// ---------------------------------------------------------------- categories

export const CATEGORIES: Category[] = [
  // Controls: well-formed crashes in every framing a client uses. They prove the harness and storage work.
  {
    name: 'valid-multipart',
    weight: 6,
    build: (ctx) => {
      const c = crash(ctx);
      return accepted(c, crashPost(c, ctx.rng));
    },
  },
  {
    name: 'valid-mixed',
    weight: 1,
    build: (ctx) => {
      const c = crash(ctx);
      return accepted(c, crashPost(c, ctx.rng, 'multipart/mixed'));
    },
  },
  {
    name: 'valid-gzip',
    weight: 3,
    build(ctx) {
      const c = crash(ctx);
      const b = boundaryFor(ctx.rng);
      return accepted(c, post([mp(b), ['Content-Encoding', 'gzip']], gzipSync(multipart(c.parts, b))));
    },
  },
  {
    name: 'valid-json-extra',
    weight: 3,
    build(ctx) {
      const c = jsonCrash(ctx, JSON.stringify({ ProductName: 'Chaos', Version: '1.0', ChaosCase: ctx.marker }));
      return accepted(c, crashPost(c, ctx.rng));
    },
  },
  {
    name: 'valid-chunked',
    weight: 3,
    build(ctx) {
      const c = crash(ctx);
      const b = boundaryFor(ctx.rng);
      return accepted(c, { pieces: [head('POST', '/submit', [mp(b), ['Transfer-Encoding', 'chunked']]), chunked(ctx.rng, multipart(c.parts, b))] });
    },
  },
  {
    name: 'expect-continue',
    weight: 1,
    build(ctx) {
      const c = crash(ctx);
      const b = boundaryFor(ctx.rng);
      const body = multipart(c.parts, b);
      return accepted(c, { pieces: [head('POST', '/submit', [mp(b), ['Expect', '100-continue'], ['Content-Length', String(body.length)]]), body], gapMs: 50 });
    },
  },
  {
    name: 'http10',
    weight: 1,
    build(ctx) {
      const c = crash(ctx);
      const b = boundaryFor(ctx.rng);
      const body = multipart(c.parts, b);
      return maybe(c, { pieces: [head('POST', '/submit', [mp(b), ['Content-Length', String(body.length)]], 'HTTP/1.0'), body] });
    },
  },

  // Content-Type and boundary.
  { name: 'no-content-type', weight: 3, build: (ctx) => due(post([], multipart(crash(ctx).parts, boundaryFor(ctx.rng)))) },
  {
    name: 'wrong-content-type',
    weight: 3,
    build(ctx) {
      const b = boundaryFor(ctx.rng);
      const type = ctx.rng.pick([
        'text/plain',
        'application/json',
        'application/x-www-form-urlencoded',
        'image/png',
        'multipart',
        'multipart/',
        '*/*',
        ';;;',
        `multipart/form-dataa; boundary=${b}`,
        `form-data; boundary=${b}`,
        ctx.rng.bytes(12).toString('base64'),
      ]);
      return due(post([['Content-Type', type]], multipart(crash(ctx).parts, b)));
    },
  },
  {
    name: 'no-boundary',
    weight: 3,
    build(ctx) {
      const type = ctx.rng.pick([
        'multipart/form-data',
        'multipart/form-data; boundary=',
        'multipart/form-data; charset=utf-8',
        'multipart/form-data; boundary=""',
        'multipart/mixed;',
      ]);
      return due(post([['Content-Type', type]], multipart(crash(ctx).parts, boundaryFor(ctx.rng))));
    },
  },
  { name: 'boundary-mismatch', weight: 3, build: (ctx) => due(post([mp(boundaryFor(ctx.rng))], multipart(crash(ctx).parts, boundaryFor(ctx.rng)))) },
  {
    name: 'boundary-odd',
    weight: 3,
    build(ctx) {
      const { rng } = ctx;
      const c = crash(ctx);
      const kind = rng.int(0, 4);
      const boundary = ['b'.repeat(rng.pick([70, 71, 200, 2000, 15000])), "'()+_,-./:=?", `"quoted boundary ${rng.int(0, 1e6)}"`, 'ünïcödé', '-'][kind]!;
      const inBody = kind === 2 ? boundary.slice(1, -1) : boundary;
      // A boundary as short as `-` may occur in random dump bytes, which makes the body ambiguous by
      // construction (RFC 2046 §5.1.1 forbids it): alter the byte after such an occurrence.
      for (const p of c.parts) {
        if (!Buffer.isBuffer(p.data)) continue;
        for (let i = p.data.indexOf(`\r\n--${inBody}`); i >= 0; i = p.data.indexOf(`\r\n--${inBody}`, i + 1)) p.data[i + 2] = 0x5f;
      }
      return maybe(c, post([['Content-Type', `multipart/form-data; boundary=${boundary}`]], multipart(c.parts, inBody)));
    },
  },

  // Framing of the body.
  {
    name: 'truncated-body',
    weight: 4,
    build(ctx) {
      const b = boundaryFor(ctx.rng);
      const body = multipart(crash(ctx).parts, b);
      return due(post([mp(b)], body.subarray(0, ctx.rng.int(0, body.length - 3))));
    },
  },
  { name: 'junk-body', weight: 3, build: (ctx) => due(post([mp(boundaryFor(ctx.rng))], ctx.rng.bytes(ctx.rng.int(1, 5000)))) },
  {
    name: 'content-length-short',
    weight: 3,
    build(ctx) {
      const b = boundaryFor(ctx.rng);
      const body = multipart(crash(ctx).parts, b);
      return due({ pieces: [head('POST', '/submit', [mp(b), ['Content-Length', String(ctx.rng.int(1, body.length - 1))]]), body] });
    },
  },
  {
    name: 'content-length-zero',
    weight: 2,
    build(ctx) {
      const b = boundaryFor(ctx.rng);
      const withBody = ctx.rng.next() < 0.5;
      return due({ pieces: [head('POST', '/submit', [mp(b), ['Content-Length', '0']]), withBody ? multipart(crash(ctx).parts, b) : Buffer.alloc(0)] });
    },
  },
  {
    name: 'content-length-invalid',
    weight: 3,
    build(ctx) {
      const b = boundaryFor(ctx.rng);
      const body = multipart(crash(ctx).parts, b);
      const headers: Header[] = [mp(b)];
      const v = ctx.rng.pick(['abc', '-1', '1.5', '0x10', '99999999999999999999999', `${body.length}, ${body.length + 1}`, 'two', ` ${body.length}x`, '+5']);
      if (v === 'two') headers.push(['Content-Length', String(body.length)], ['Content-Length', String(body.length - 1)]);
      else headers.push(['Content-Length', v]);
      return due({ pieces: [head('POST', '/submit', headers), body] });
    },
  },
  {
    name: 'content-length-too-large',
    weight: 2,
    build(ctx) {
      const b = boundaryFor(ctx.rng);
      // Announces more than 25 MiB, sends 64 KiB and waits: the refusal is due at once.
      const cl = ctx.rng.pick([26214401, 50_000_000, 2 ** 40]);
      return due({ pieces: [head('POST', '/submit', [mp(b), ['Content-Length', String(cl)]]), ctx.rng.bytes(65536)] });
    },
  },
  {
    name: 'oversize-chunked',
    weight: 1,
    build(ctx) {
      const b = boundaryFor(ctx.rng);
      const chunk = Buffer.concat([Buffer.from(`100000\r\n`), ctx.rng.bytes(0x100000), Buffer.from('\r\n')]);
      return due({
        pieces: [head('POST', '/submit', [mp(b), ['Transfer-Encoding', 'chunked']]), ...Array.from({ length: 27 }, () => chunk), Buffer.from('0\r\n\r\n')],
      });
    },
  },
  {
    name: 'bad-chunked',
    weight: 4,
    build(ctx) {
      const b = boundaryFor(ctx.rng);
      const body = multipart(crash(ctx).parts, b);
      const good = chunked(ctx.rng, body);
      const bad = ctx.rng.pick([
        Buffer.concat([Buffer.from('zz\r\n'), body, Buffer.from('\r\n0\r\n\r\n')]),
        Buffer.concat([Buffer.from(`${(body.length + 10).toString(16)}\r\n`), body, Buffer.from('\r\n0\r\n\r\n')]),
        Buffer.concat([Buffer.from(`${body.length.toString(16)}\r\n`), body, Buffer.from('XX0\r\n\r\n')]),
        Buffer.concat([Buffer.from(`-${body.length.toString(16)}\r\n`), body, Buffer.from('\r\n0\r\n\r\n')]),
        Buffer.concat([Buffer.from(`${body.length.toString(16)};${'e'.repeat(20000)}\r\n`), body, Buffer.from('\r\n0\r\n\r\n')]),
        Buffer.concat([Buffer.from(`${body.length.toString(16)}\n`), body, Buffer.from('\n0\n\n')]),
        Buffer.concat([Buffer.from('ffffffffffffffffffff\r\n'), body, Buffer.from('\r\n0\r\n\r\n')]),
        Buffer.concat([good.subarray(0, good.length - 5), Buffer.from('1\r\nX\r\nGARBAGE')]),
      ]);
      return due({ pieces: [head('POST', '/submit', [mp(b), ['Transfer-Encoding', 'chunked']]), bad] });
    },
  },
  {
    name: 'te-and-content-length',
    weight: 2,
    build(ctx) {
      const b = boundaryFor(ctx.rng);
      const body = chunked(ctx.rng, multipart(crash(ctx).parts, b));
      return due({
        pieces: [head('POST', '/submit', [mp(b), ['Transfer-Encoding', 'chunked'], ['Content-Length', String(ctx.rng.int(1, body.length))]]), body],
      });
    },
  },
  {
    name: 'te-unknown',
    weight: 2,
    build(ctx) {
      const b = boundaryFor(ctx.rng);
      const c = crash(ctx);
      const body = multipart(c.parts, b);
      const te = ctx.rng.pick(['gzip', 'identity', 'chunked, chunked', 'gzip, chunked', 'xchunked', 'chunked;q=1']);
      const wire = te.endsWith('chunked') ? chunked(ctx.rng, body) : body;
      return maybe(c, { pieces: [head('POST', '/submit', [mp(b), ['Transfer-Encoding', te]]), wire] });
    },
  },
  {
    name: 'early-close',
    weight: 2,
    build(ctx) {
      const b = boundaryFor(ctx.rng);
      const body = multipart(crash(ctx).parts, b);
      // Half the body, then the client closes its side: nobody is owed an answer.
      return {
        request: { pieces: [head('POST', '/submit', [mp(b), ['Content-Length', String(body.length)]]), body.subarray(0, body.length >> 1)], endAfter: true },
        answerDue: false,
        mustAccept: false,
      };
    },
  },

  // Compression.
  {
    name: 'bad-gzip',
    weight: 3,
    build: (ctx) => {
      const b = boundaryFor(ctx.rng);
      return due(post([mp(b), ['Content-Encoding', 'gzip']], multipart(crash(ctx).parts, b)));
    },
  },
  {
    name: 'truncated-gzip',
    weight: 3,
    build(ctx) {
      const b = boundaryFor(ctx.rng);
      const z = gzipSync(multipart(crash(ctx).parts, b));
      return due(post([mp(b), ['Content-Encoding', 'gzip']], z.subarray(0, ctx.rng.int(1, z.length - 9))));
    },
  },
  { name: 'gzip-bomb', weight: 1, build: () => due(post([mp('chaosbomb'), ['Content-Encoding', 'gzip']], gzipBomb())) },
  {
    name: 'odd-content-encoding',
    weight: 2,
    build(ctx) {
      const c = crash(ctx);
      const b = boundaryFor(ctx.rng);
      return maybe(
        c,
        post([mp(b), ['Content-Encoding', ctx.rng.pick(['br', 'deflate', 'gzip, gzip', 'identity', 'x-gzip', 'GZIP', ''])]], multipart(c.parts, b)),
      );
    },
  },

  // JSON annotations.
  {
    name: 'deep-json-100',
    weight: 2,
    build: (ctx) => {
      const c = jsonCrash(ctx, deepJson(ctx, 100));
      return maybe(c, crashPost(c, ctx.rng));
    },
  },
  {
    name: 'deep-json-3000',
    weight: 1,
    build: (ctx) => {
      const c = jsonCrash(ctx, deepJson(ctx, 3000));
      return maybe(c, crashPost(c, ctx.rng));
    },
  },
  {
    name: 'deep-json-100000',
    weight: 1,
    build: (ctx) => {
      const c = jsonCrash(ctx, deepJson(ctx, 100000));
      return maybe(c, crashPost(c, ctx.rng));
    },
  },
  {
    name: 'wide-json',
    weight: 1,
    build(ctx) {
      const o: Record<string, unknown> = { ProductName: 'Chaos', ChaosCase: ctx.marker };
      const kind = ctx.rng.int(0, 2);
      if (kind === 0) for (let i = 0; i < 50000; i++) o[`k${i}`] = i;
      else if (kind === 1) o.big = 'x'.repeat(ctx.rng.int(1, 3) * 1_000_000);
      else o.list = Array.from({ length: 100000 }, (_, i) => i);
      const c = jsonCrash(ctx, JSON.stringify(o));
      return maybe(c, crashPost(c, ctx.rng));
    },
  },
  {
    name: 'json-invalid',
    weight: 3,
    build(ctx) {
      const text = ctx.rng.pick([
        '{"ProductName": "Chaos",}',
        "{'a': 1}",
        '{"a": NaN}',
        '{"a": 1',
        '\ufeff{"a": 1}',
        '',
        '{"a": "\\x"}',
        '{"a": 1}}',
        '{"a": "\ud800"',
      ]);
      const c = jsonCrash(ctx, text);
      // A parser may skip the BOM and accept `{"a": 1}`: then the dump must be stored, with no marker to check.
      return maybe({ ...c, expect: { dumps: c.expect.dumps } }, crashPost(c, ctx.rng));
    },
  },
  {
    name: 'json-not-object',
    weight: 2,
    build: (ctx) => {
      const c = jsonCrash(ctx, ctx.rng.pick(['[]', '1', '"s"', 'null', 'true', '[{"a":1}]']));
      return due(crashPost(c, ctx.rng));
    },
  },
  {
    name: 'json-prototype-keys',
    weight: 2,
    build(ctx) {
      const c = jsonCrash(
        ctx,
        `{"ProductName":"Chaos","ChaosCase":"${ctx.marker}","__proto__":{"polluted":"yes"},"constructor":{"prototype":{"polluted":"yes"}},"toString":"x","hasOwnProperty":"y"}`,
      );
      return maybe(c, crashPost(c, ctx.rng));
    },
  },

  // Annotations and part contents.
  {
    name: 'invalid-utf8',
    weight: 3,
    build(ctx) {
      const c = crash(ctx);
      const bad = ctx.rng.pick([[0xff], [0xc3, 0x28], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xe2, 0x82]]);
      c.parts.push({ name: 'BadText', data: Buffer.from([0x41, ...bad, 0x42]) });
      if (ctx.rng.next() < 0.5) c.parts.push({ name: Buffer.from([0x4e, ...bad]).toString('latin1'), data: 'x' });
      return maybe(c, crashPost(c, ctx.rng));
    },
  },
  {
    name: 'nul-bytes',
    weight: 3,
    build(ctx) {
      const c = crash(ctx, { dumps: 1 });
      const kind = ctx.rng.int(0, 3);
      if (kind === 0) c.parts.push({ name: 'WithNul', data: 'a\u0000b' });
      else if (kind === 1) c.parts.push({ name: 'Nul\u0000Name', data: 'x' });
      else if (kind === 2) {
        const d = dumpBytes(ctx.rng, 100);
        c.parts.push(dumpPart('nul\u0000dump', d));
        (c.expect.dumps as Map<string, Buffer[]>).set('nuldump', [d]);
      } else {
        const b = boundaryFor(ctx.rng);
        return due({
          pieces: [head('POST', '/submit', [mp(b), ['X-Nul', 'a\u0000b'], ['Content-Length', String(multipart(c.parts, b).length)]]), multipart(c.parts, b)],
        });
      }
      return maybe(c, crashPost(c, ctx.rng));
    },
  },
  {
    name: 'reserved-dump-name',
    weight: 3,
    build(ctx) {
      const c = crash(ctx, { dumps: 1 });
      c.parts.push(
        dumpPart(
          ctx.rng.pick(['dump_names', 'raw_crash', 'processed_crash', 'raw_crash!!', 'dump_names.', '/raw_crash/', 'processed-_crash'.replace('-', '')]),
          dumpBytes(ctx.rng, 200),
        ),
      );
      return due(crashPost(c, ctx.rng));
    },
  },
  {
    name: 'dump-named-dump',
    weight: 3,
    build(ctx) {
      // `dump` and `upload_file_minidump` are both stored as v1/dump/<id>: one must not overwrite the other.
      const c = crash(ctx, { dumps: 1 });
      const d = dumpBytes(ctx.rng, ctx.rng.int(64, 4000));
      c.parts.push(dumpPart(ctx.rng.pick(['dump', 'dump!', 'd-u-m-p']), d));
      (c.expect.dumps as Map<string, Buffer[]>).set('dump', [d]);
      return maybe(c, crashPost(c, ctx.rng));
    },
  },
  {
    name: 'empty-dump-name',
    weight: 2,
    build(ctx) {
      const c = crash(ctx, { dumps: 1 });
      // A part named "" counts as a part with no name (SPEC §1.2: dropped), so 200 may be right; the odd dump must not be stored.
      c.parts.push(dumpPart(ctx.rng.pick(['', '!!!', '...', '/', '-', '🙂']), dumpBytes(ctx.rng, 100)));
      return maybe(c, crashPost(c, ctx.rng));
    },
  },
  {
    name: 'path-traversal',
    weight: 3,
    build(ctx) {
      const c = crash(ctx, { dumps: 1 });
      const name = ctx.rng.pick(['../../../../tmp/chaos', '..\\..\\chaos', '%2e%2e%2fchaos', 'a/../../b', '/etc/passwd', 'v1/../../x']);
      const d = dumpBytes(ctx.rng, 300);
      c.parts.push({ name, filename: ctx.rng.pick(['../../etc/passwd', '/etc/shadow', '..\\..\\boot.ini']), contentType: 'application/octet-stream', data: d });
      c.parts.push({ name: '../Annotation', data: 'x' });
      (c.expect.dumps as Map<string, Buffer[]>).set(sanitizeDumpName(name), [d]);
      return maybe(c, crashPost(c, ctx.rng));
    },
  },
  {
    name: 'unicode-dump-name',
    weight: 2,
    build(ctx) {
      const c = crash(ctx, { dumps: 1 });
      const name = ctx.rng.pick(['dümp_ñame', 'память', 'dump_🙂_x', 'x'.repeat(200), 'Ａｂｃ']);
      const d = dumpBytes(ctx.rng, 300);
      c.parts.push(dumpPart(name, d));
      const s = sanitizeDumpName(name);
      if (s) (c.expect.dumps as Map<string, Buffer[]>).set(s, [d]);
      return s ? maybe(c, crashPost(c, ctx.rng)) : due(crashPost(c, ctx.rng));
    },
  },
  {
    name: 'duplicate-parts',
    weight: 2,
    build(ctx) {
      const c = crash(ctx, { dumps: 1 });
      const second = dumpBytes(ctx.rng, ctx.rng.int(64, 3000));
      c.parts.push(dumpPart('upload_file_minidump', second), { name: 'ProductName', data: 'Chaos2' });
      (c.expect.dumps as Map<string, Buffer[]>).get('upload_file_minidump')!.push(second);
      return maybe(c, crashPost(c, ctx.rng));
    },
  },
  {
    name: 'no-annotations',
    weight: 2,
    build(ctx) {
      const c = crash(ctx);
      return due(crashPost({ ...c, parts: c.parts.filter((p) => p.filename) }, ctx.rng));
    },
  },
  {
    name: 'nameless-parts',
    weight: 2,
    build(ctx) {
      const c = crash(ctx);
      c.parts.push({ data: 'no name' }, { filename: 'x.dmp', contentType: 'application/octet-stream', data: dumpBytes(ctx.rng, 100) });
      return maybe(c, crashPost(c, ctx.rng));
    },
  },
  {
    name: 'part-header-garbage',
    weight: 3,
    build(ctx) {
      const c = crash(ctx, { dumps: 1 });
      const raw = ctx.rng.pick([
        'Content-Type: text/plain\r\n',
        'Content-Disposition: form-data; name=Unquoted\r\n',
        'Content-Disposition: attachment; name="Att"\r\n',
        'Content-Disposition form-data name="NoColon"\r\n',
        `Content-Disposition: form-data; name="A"\r\n${'X-H: y\r\n'.repeat(200)}`,
        'Content-Disposition: form-data; name="J"\r\nContent-Type: application/json; x\r\n',
        'Content-Disposition: form-data; name="E"; filename*=UTF-8\'\'%E2%82%AC.dmp\r\nContent-Type: application/octet-stream\r\n',
      ]);
      c.parts.push({ rawHead: Buffer.from(raw), data: ctx.rng.pick(['{"x":', 'value', dumpBytes(ctx.rng, 64)]) });
      return { ...maybe(c, crashPost(c, ctx.rng)), expect: { marker: ctx.marker, dumps: 'consistent' } };
    },
  },
  {
    name: 'lf-line-endings',
    weight: 2,
    build(ctx) {
      const c = crash(ctx);
      const b = boundaryFor(ctx.rng);
      return { ...maybe(c, post([mp(b)], multipart(c.parts, b, '\n'))), expect: { marker: ctx.marker, dumps: 'consistent' } };
    },
  },
  {
    name: 'preamble-epilogue',
    weight: 2,
    build(ctx) {
      const c = crash(ctx);
      const b = boundaryFor(ctx.rng);
      const body = Buffer.concat([Buffer.from('This is a preamble.\r\n--not-the-boundary\r\n'), multipart(c.parts, b), ctx.rng.bytes(ctx.rng.int(1, 2000))]);
      return maybe(c, post([mp(b)], body));
    },
  },

  // Sizes and counts.
  {
    name: 'too-many-parts',
    weight: 2,
    build(ctx) {
      const c = crash(ctx, { dumps: 1 });
      for (let i = 0, n = ctx.rng.int(1001, 4000); i < n; i++) c.parts.push({ name: `A${i}`, data: 'x' });
      return due(crashPost(c, ctx.rng));
    },
  },
  {
    name: 'many-dumps',
    weight: 2,
    build(ctx) {
      const c = crash(ctx, { dumps: 1 });
      for (let i = 0, n = ctx.rng.int(20, 100); i < n; i++) {
        const d = dumpBytes(ctx.rng, ctx.rng.int(8, 500));
        c.parts.push(dumpPart(`d${i}`, d));
        (c.expect.dumps as Map<string, Buffer[]>).set(`d${i}`, [d]);
      }
      return maybe(c, crashPost(c, ctx.rng));
    },
  },
  {
    name: 'giant-part-header',
    weight: 2,
    build(ctx) {
      const c = crash(ctx, { dumps: 1 });
      c.parts.push({
        name: 'upload_file_extra',
        filename: 'f'.repeat(ctx.rng.pick([17000, 70000, 300000])),
        contentType: 'application/octet-stream',
        data: 'x',
      });
      (c.expect.dumps as Map<string, Buffer[]>).set('upload_file_extra', [Buffer.from('x')]);
      return maybe(c, crashPost(c, ctx.rng));
    },
  },
  {
    name: 'huge-annotation',
    weight: 1,
    build(ctx) {
      const c = crash(ctx, { dumps: 1 });
      c.parts.push({ name: 'Huge', data: 'a'.repeat(5 * 1024 * 1024 + ctx.rng.int(1, 500000)) });
      return due(crashPost(c, ctx.rng));
    },
  },
  {
    name: 'giant-request-headers',
    weight: 2,
    build(ctx) {
      const b = boundaryFor(ctx.rng);
      const body = multipart(crash(ctx).parts, b);
      const headers: Header[] = [mp(b)];
      if (ctx.rng.next() < 0.5) headers.push(['X-Big', 'h'.repeat(ctx.rng.pick([17000, 100000]))]);
      else for (let i = 0; i < 2000; i++) headers.push([`X-H${i}`, 'value-value']);
      return due({ pieces: [head('POST', '/submit', [...headers, ['Content-Length', String(body.length)]]), body] });
    },
  },
  {
    // Apart from giant-request-headers: the node answers, then closes while the client is still sending
    // its megabyte, and a reset can destroy the answer before the client reads it.
    name: 'giant-request-headers-1mb',
    weight: 1,
    build(ctx) {
      const b = boundaryFor(ctx.rng);
      const body = multipart(crash(ctx).parts, b);
      return due({ pieces: [head('POST', '/submit', [mp(b), ['X-Big', 'h'.repeat(1_000_000)], ['Content-Length', String(body.length)]]), body] });
    },
  },
  {
    name: 'long-url',
    weight: 1,
    build(ctx) {
      const c = crash(ctx);
      const b = boundaryFor(ctx.rng);
      return maybe(c, post([mp(b)], multipart(c.parts, b), `/submit?${'q'.repeat(ctx.rng.pick([9000, 20000, 80000]))}`));
    },
  },

  // Identity.
  {
    name: 'unauthorized-uuid',
    weight: 2,
    build(ctx) {
      const c = crash(ctx);
      c.parts.push({ name: 'uuid', data: crashIdFor(ctx.rng) });
      const b = boundaryFor(ctx.rng);
      const auth: Header[] = ctx.rng.pick([
        [],
        [['Authorization', 'Bearer wrong']],
        [['Authorization', `Bearer ${CHAOS_TOKEN}x`]],
        [['Authorization', CHAOS_TOKEN]],
      ]);
      return due(post([mp(b), ...auth], multipart(c.parts, b)));
    },
  },
  {
    name: 'invalid-uuid',
    weight: 2,
    build(ctx) {
      const c = crash(ctx);
      c.parts.push({
        name: 'uuid',
        data: ctx.rng.pick([
          'not-a-uuid',
          '',
          '../../../etc/passwd',
          'de1bb258-cbbf-4589-a673-34f800160918x',
          'DE1BB258-CBBF-4589-A673-34F800160918',
          'de1bb258-cbbf-4589-a673-34f802160918',
        ]),
      });
      const b = boundaryFor(ctx.rng);
      return due(post([mp(b), ['Authorization', `Bearer ${CHAOS_TOKEN}`]], multipart(c.parts, b)));
    },
  },
  {
    name: 'authorized-uuid',
    weight: 1,
    build(ctx) {
      const c = crash(ctx);
      const id = crashIdFor(ctx.rng);
      c.parts.push({ name: 'uuid', data: id });
      const b = boundaryFor(ctx.rng);
      return { ...accepted(c, post([mp(b), ['Authorization', `Bearer ${CHAOS_TOKEN}`]], multipart(c.parts, b))), expect: { ...c.expect, id } };
    },
  },

  // Not even a submission.
  {
    name: 'method-and-path',
    weight: 2,
    build(ctx) {
      const c = crash(ctx);
      const b = boundaryFor(ctx.rng);
      const body = multipart(c.parts, b);
      const [method, target] = ctx.rng.pick([
        ['GET', '/submit'],
        ['PUT', '/submit'],
        ['DELETE', '/submit'],
        ['POST', '/'],
        ['POST', '//submit'],
        ['POST', '/%2e%2e/submit'],
        ['OPTIONS', '*'],
        ['POST', '/submit%00'],
        ['POST', '/__lbheartbeat__'],
        ['PATCH', '/__heartbeat__'],
      ] as const);
      return maybe(c, { pieces: [head(method, target, [mp(b), ['Content-Length', String(body.length)]]), body] });
    },
  },
  {
    name: 'http-garbage',
    weight: 2,
    build(ctx) {
      const bytes = ctx.rng.pick([
        () => ctx.rng.bytes(ctx.rng.int(1, 3000)),
        () => Buffer.from('160301020001000000000000', 'hex'),
        () => Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'),
        () => Buffer.from('GARBAGE\r\n\r\n'),
        () => Buffer.from('POST /submit HTTP/9.9\r\nHost: x\r\n\r\n'),
        () => Buffer.from('POST /submit HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n'),
      ])();
      return due({ pieces: [bytes] });
    },
  },
];

export const CATEGORY_NAMES = CATEGORIES.map((c) => c.name);

/** Category of case `index`: a fixed interleaving by weight, so any prefix of the corpus spans every category. */
const schedule: Category[] = (() => {
  const out: Category[] = [];
  const maxW = Math.max(...CATEGORIES.map((c) => c.weight));
  for (let round = 0; round < maxW; round++) for (const c of CATEGORIES) if (round < c.weight) out.push(c);
  return out;
})();

export function fuzzCase(seed: number, index: number): FuzzCase {
  const category = schedule[index % schedule.length]!;
  const ctx: Ctx = { rng: rngFor(seed, index), marker: `${seed}-${index}` };
  return { index, category: category.name, ...category.build(ctx) };
}

/** The first `perCategory` case indexes of every category (the fast slice `npm test` runs). */
export function sliceIndexes(perCategory: number, categories: readonly string[] = CATEGORY_NAMES): Map<string, number[]> {
  const out = new Map<string, number[]>(categories.map((c) => [c, []]));
  for (let i = 0; [...out.values()].some((l) => l.length < perCategory); i++) {
    const list = out.get(schedule[i % schedule.length]!.name);
    if (list && list.length < perCategory) list.push(i);
  }
  return out;
}

/** Crash number `i` of the load scenarios: a well-formed crash with 1–3 dumps of up to 200 KB. */
export function loadCrash(seed: number, i: number): { request: WireRequest; expect: ExpectedCrash } {
  const ctx: Ctx = { rng: rngFor(seed ^ 0x10ad, i), marker: `load-${seed}-${i}` };
  const c = crash(ctx, { maxDump: 200_000 });
  return { request: crashPost(c, ctx.rng), expect: c.expect };
}
