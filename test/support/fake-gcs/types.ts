/** The fake GCS server's public types: its options, what it stores and logs, and the handle tests drive it with. */
export interface FakeGcsOptions {
  /** Buckets that exist from the start. */
  buckets?: string[];
  /** Most objects one list page holds, whatever `maxResults` asks (GCS caps at 1000), to exercise paging. */
  maxPageSize?: number;
}

export interface StoredGcsObject {
  bucket: string;
  name: string;
  data: Buffer;
  contentType: string;
  metadata: Record<string, string>;
  generation: string;
  created: string;
  crc32c: string;
  md5Hash: string;
}

export interface FakeGcsRequest {
  method: string;
  /** Path and query as received. */
  url: string;
  /** What the fake understood: `upload`, `get`, `media`, `list`, `delete`, `bucket.get`, … or `unknown`. */
  op: string;
  bucket?: string;
  object?: string;
  /** Status answered, or `dropped` when the connection was destroyed. */
  status?: number | 'dropped';
  /** Body bytes received (0 for a dropped request, whose body is not read). */
  bytes?: number;
  /** How many object writes had completed when the request arrived (for ordering checks). */
  writesBefore: number;
  /** The Authorization header, if the client sent one. */
  authorization?: string;
}

/** Selects the requests a fault applies to; it sees what the fake understood (op, bucket, object). */
export type RequestMatcher = (req: FakeGcsRequest) => boolean;

export interface FailOptions {
  /** Status to answer with, as a JSON API error; default 503. */
  status?: number;
  /** Only matching requests fail (and count towards `n`); default every request. */
  match?: RequestMatcher;
}

export interface FakeGcs {
  /** `http://127.0.0.1:PORT` — pass as `apiEndpoint` or STORAGE_EMULATOR_HOST. */
  url: string;
  /** `127.0.0.1:PORT` */
  host: string;
  port: number;
  /** An object's bytes, or undefined. */
  object(bucket: string, key: string): Buffer | undefined;
  /** An object's bytes; throws when there is no such object. */
  getObject(bucket: string, key: string): Buffer;
  /** A bucket's objects, sorted by key; throws when there is no such bucket. */
  objects(bucket: string): Array<{ key: string; data: Buffer; contentType: string }>;
  /** Object names in a bucket, sorted, optionally under a prefix. */
  keys(bucket: string, prefix?: string): string[];
  /** Completed object writes in the order they were stored. */
  writes: Array<{ bucket: string; key: string }>;
  /** Every request received, in order of arrival. */
  requests: FakeGcsRequest[];
  /** Requests that concern one object (uploads, metadata, media, delete), in order. */
  requestsFor(bucket: string, key: string): FakeGcsRequest[];
  /**
   * Answers the next `n` (matching) requests with an error status, after
   * reading their bodies, without acting on them. `status` alone is a shorthand
   * for `{ status }`.
   */
  failNext(n: number, opts?: number | FailOptions): void;
  /** Waits `ms` before answering each (matching) request, after reading its body; 0 turns it off. */
  setLatency(ms: number, match?: RequestMatcher): void;
  /** Destroys the socket of the next `n` (matching) requests without reading or answering them. */
  dropNextConnections(n: number, match?: RequestMatcher): void;
  /**
   * Keeps (matching) requests open, body read but unanswered (not stored, no
   * fault applied yet), until the returned function is called; stop() lets
   * them go too. Lets a test look at what the client sends meanwhile.
   */
  hold(match?: RequestMatcher): () => void;
  /** Flips a byte in the body of the next `n` media downloads, keeping the stored hashes: checksum validation must catch it. */
  corruptNextDownloads(n: number): void;
  /** While down, every request gets 503. */
  setDown(down: boolean): void;
  /** Cancels every pending fault (failures, drops, latency, corruption, down). */
  clearFaults(): void;
  createBucket(name: string): void;
  /** Same as createBucket. */
  addBucket(name: string): void;
  removeBucket(name: string): void;
  putObject(bucket: string, key: string, data: Buffer, contentType?: string): void;
  stop(): Promise<void>;
}
