/** Messages between the primary and its workers (Node cluster IPC). */

/** Primary → worker: stop accepting, finish in-flight uploads, drain, exit. */
export interface ShutdownMessage {
  type: 'antenna:shutdown';
}

/** Worker → primary: the worker is listening and ready for traffic. */
export interface ListeningMessage {
  type: 'antenna:listening';
}

/** Worker → primary, every HEARTBEAT_INTERVAL. */
export interface WorkerReport {
  type: 'antenna:report';
  pid: number;
  saveQueueSize: number;
  inFlight: number;
}

export interface FleetWorker {
  pid: number;
  save_queue_size: number;
  in_flight: number;
  last_report_ms: number;
  unresponsive: boolean;
}

/** The spool as the primary last listed it (see src/shared/spool). */
export interface SpoolView {
  crashes: number;
  bytes: number;
  maxBytes: number;
  oldestSpooledAt: number | undefined;
  scannedAt: number;
  claimed: Record<string, number>;
}

/** Primary → every worker: the fleet as the primary sees it. */
export interface FleetMessage {
  type: 'antenna:fleet';
  workers: FleetWorker[];
  saveQueueSize: number;
  spool?: SpoolView;
}

/** Worker → primary: start-up failed; the reason, for the primary's crash-loop report. */
export interface StartupFailedMessage {
  type: 'antenna:startup-failed';
  reason: string;
}

/** Worker → primary: a `/metrics` scrape arrived; send back the whole node's metrics. */
export interface PromScrapeRequest {
  type: 'antenna:prom-scrape';
  id: number;
}

/** Primary → worker: the answer to a PromScrapeRequest (exposition text, or why not). */
export interface PromScrapeResponse {
  type: 'antenna:prom-text';
  id: number;
  text?: string;
  contentType?: string;
  error?: string;
}

/** Primary → worker: send your own registry as JSON (prom-client's getMetricsAsJSON). */
export interface PromCollectRequest {
  type: 'antenna:prom-collect';
  id: number;
}

export interface PromCollectResponse {
  type: 'antenna:prom-json';
  id: number;
  metrics: unknown[];
}

export type PrimaryToWorker = ShutdownMessage | FleetMessage | PromScrapeResponse | PromCollectRequest;
export type WorkerToPrimary = ListeningMessage | WorkerReport | StartupFailedMessage | PromScrapeRequest | PromCollectResponse;

export function isMessage<T extends { type: string }>(msg: unknown, type: T['type']): msg is T {
  return typeof msg === 'object' && msg !== null && (msg as { type?: unknown }).type === type;
}

/** Primary → PM2 (or any parent with an IPC channel): every worker listens (PM2's `wait_ready`). */
export type PmReady = 'ready';

/** The sending end of a Node IPC channel: a worker's ChildProcess in the primary, `process` in a worker. */
export interface IpcChannel {
  readonly connected: boolean;
  send?(message: unknown, sendHandle: undefined, options: object, callback: (error: Error | null) => void): boolean;
}

/**
 * Sends `msg` without ever throwing or emitting 'error'. The peer can die
 * between the `connected` check and the write; a send() without a callback
 * then emits an unhandled 'error' (EPIPE) that kills this process. Returns
 * false when the channel was already closed; `onError` hears of a write that
 * failed afterwards.
 */
export function sendIpc(channel: IpcChannel, msg: PrimaryToWorker | WorkerToPrimary | PmReady, onError?: (err: Error) => void): boolean {
  if (!channel.send || !channel.connected) return false;
  channel.send(msg, undefined, {}, (err) => {
    if (err) onError?.(err);
  });
  return true;
}
