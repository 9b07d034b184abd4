/** The fake AWS's public types and constants: dummy credentials, what it logs, and the handle tests drive it with. */
export const FAKE_REGION = 'us-west-2';
export const FAKE_ACCESS_KEY = 'AKIDFAKEFAKEFAKE';
export const FAKE_SECRET = 'fake-secret-access-key';

export interface ReceivedMessage {
  body: string;
  attributes: Record<string, unknown> | undefined;
}

export interface FakeAwsRequest {
  method: string;
  /** Path and query as received. */
  url: string;
  service: 's3' | 'sqs' | 'other';
  /** SQS: the action from X-Amz-Target (`SendMessage`, `GetQueueUrl`, …). */
  action?: string;
  /** S3 (path-style): the bucket and the decoded key ('' for bucket-level requests). */
  bucket?: string;
  key?: string;
  /** Status answered, `dropped` when the connection was destroyed, `aborted` when the client gave up first. */
  status?: number | 'dropped' | 'aborted';
  /** Whether the answer was an injected fault rather than fauxqs's. */
  injected?: boolean;
  /** S3: the flexible-checksum headers the SDK sent (`x-amz-checksum-crc32: …`), by algorithm. */
  checksums?: Record<string, string>;
  /** Whether the client sent `Expect: 100-continue`. */
  expectContinue?: boolean;
}

export interface FailOptions {
  /** HTTP status of the injected error (default 503). */
  status?: number;
  /** Error code in the body (default by status: SlowDown / ServiceUnavailable for 503, AccessDenied for 403, …). */
  code?: string;
  /** Only requests matching this count towards `n` (default: every request). */
  match?: (req: FakeAwsRequest) => boolean;
}

export interface FakeAws {
  /** `http://127.0.0.1:PORT` of the proxy: the endpoint for the code under test. */
  url: string;
  port: number;
  /** fauxqs itself, bypassing the proxy. */
  fauxqsUrl: string;
  region: string;
  /** Every request the proxy received, in order of arrival. */
  requests: FakeAwsRequest[];
  /** Requests for one S3 object. */
  requestsFor(bucket: string, key: string): FakeAwsRequest[];
  createBucket(name: string): Promise<void>;
  deleteBucket(name: string): Promise<void>;
  /** Creates a standard queue; returns its URL. */
  createQueue(name: string): Promise<string>;
  deleteQueue(queueUrl: string): Promise<void>;
  /** An object's bytes (read with GetObject), or undefined when it does not exist. */
  getObject(bucket: string, key: string): Promise<Buffer | undefined>;
  /** Object keys in a bucket, sorted, optionally under a prefix. */
  keys(bucket: string, prefix?: string): Promise<string[]>;
  /** Receives (and deletes) every message now visible on a queue; returns the raw messages. */
  /** Receives and deletes every waiting message, appending each to `into` as it arrives (kept if a later call fails). */
  receiveAll(queueUrl: string, into?: ReceivedMessage[]): Promise<ReceivedMessage[]>;
  /** Answers the next `n` (matching) requests with an error, without forwarding them. */
  failNext(n: number, opts?: FailOptions): void;
  /** Waits `ms` before forwarding every request. */
  setLatency(ms: number): void;
  /** Destroys the connection of the next `n` requests without answering. */
  dropNextConnections(n: number): void;
  /**
   * Keeps (matching) requests open, neither forwarded nor answered (no fault
   * applied yet), until the returned function is called; stop() lets them go
   * too. Lets a test look at what the client sends meanwhile.
   */
  hold(match?: (req: FakeAwsRequest) => boolean): () => void;
  /**
   * An outage until called with `false`: every (matching) request is answered
   * with an error (`status`, default 503) or, with `drop`, has its connection
   * destroyed. Requests already forwarded finish normally.
   */
  setDown(down: false | { status?: number; drop?: boolean; match?: (req: FakeAwsRequest) => boolean }): void;
  /** Environment for loadConfig: s3 storage on this fake (dummy credentials, region, endpoint, path style). */
  storageEnv(bucket: string, extra?: Record<string, string>): Record<string, string>;
  /** Environment for loadConfig: sqs publishing on this fake. */
  publishEnv(queue: string, extra?: Record<string, string>): Record<string, string>;
  stop(): Promise<void>;
}
