import { EventEmitter } from 'node:events';

/**
 * A stand-in for node:cluster in the primary's unit tests: workers are
 * EventEmitters whose messages, signals and exits the test drives, so the
 * supervisor's and the primary's decisions (fork, replace, kill, give up) are
 * observable without forking a process. Use it with
 * `jest.mock('node:cluster', () => ({ __esModule: true, default: require('../support/fake-cluster').fakeCluster }))`.
 */
export class FakeWorker extends EventEmitter {
  /** Messages the primary sent to this worker, in order. */
  readonly sent: unknown[] = [];
  /** Signals the primary sent to this worker, in order. */
  readonly signals: string[] = [];
  dead = false;
  /** While false, the IPC channel is closed: sends are refused. */
  connected = true;
  /** Set to make the next sends fail asynchronously, as for a worker that is exiting. */
  sendError: Error | undefined;
  readonly process: {
    pid: number | undefined;
    connected: boolean;
    send: (msg: unknown, handle: undefined, options: object, cb: (err: Error | null) => void) => boolean;
    kill: (signal: string) => boolean;
  };

  constructor(
    readonly id: number,
    pid: number | undefined,
  ) {
    super();
    this.process = {
      pid,
      connected: true,
      send: (msg, _handle, _options, cb) => {
        this.sent.push(msg);
        const err = this.sendError;
        setImmediate(() => cb(err ?? null));
        return true;
      },
      kill: (signal) => (this.signals.push(signal), true),
    };
    // The channel's state is the worker's: a test closes it with `connected = false`.
    Object.defineProperty(this.process, 'connected', { get: () => this.connected });
  }

  isDead(): boolean {
    return this.dead;
  }

  isConnected(): boolean {
    return this.connected && !this.dead;
  }

  /** A message from the worker to the primary. */
  say(msg: unknown): void {
    this.emit('message', msg);
  }

  listen(): void {
    this.say({ type: 'antenna:listening' });
  }
}

export class FakeCluster extends EventEmitter {
  readonly SCHED_NONE = 1;
  readonly SCHED_RR = 2;
  schedulingPolicy = 0;
  /** What `setupPrimary` was given (the workers' node flags), merged as node does. */
  settings: { execArgv?: string[] } = {};
  workers: Record<number, FakeWorker> = {};
  /** Every worker ever forked, in order. */
  forked: FakeWorker[] = [];
  /** While set, fork() returns a worker without a pid, as node does on EAGAIN/EMFILE. */
  failForks = false;
  private nextId = 1;
  private nextPid = 1001;

  setupPrimary(settings: { execArgv?: string[] }): void {
    this.settings = { ...this.settings, ...settings };
  }

  fork(): FakeWorker {
    const id = this.nextId++;
    const worker = new FakeWorker(id, this.failForks ? undefined : this.nextPid++);
    this.forked.push(worker);
    if (!this.failForks) this.workers[id] = worker;
    return worker;
  }

  /** The worker's process ends: the worker's 'exit', then the cluster's, as node emits them. */
  exit(worker: FakeWorker, code: number | null, signal: string | null = null): void {
    worker.dead = true;
    worker.connected = false;
    delete this.workers[worker.id];
    worker.emit('exit', code, signal);
    this.emit('exit', worker, code, signal);
  }

  /** Workers forked and not exited. */
  alive(): FakeWorker[] {
    return Object.values(this.workers);
  }

  reset(): void {
    this.removeAllListeners();
    this.workers = {};
    this.forked = [];
    this.failForks = false;
    this.schedulingPolicy = 0;
    this.settings = {};
  }
}

export const fakeCluster = new FakeCluster();
