import cluster, { type Worker } from 'node:cluster';
import type { Config } from '../shared/config';
import { isMessage, sendIpc, type ListeningMessage, type PrimaryToWorker, type StartupFailedMessage, type WorkerReport } from '../shared/ipc';
import type { Logger } from '../shared/logging';
import type { Fleet } from './fleet';
import { RestartPolicy } from './restart-policy';

export interface Tracked {
  worker: Worker;
  listening: boolean;
  /** Asked to drain and exit (a reload): its exit is expected and not replaced. */
  retiring: boolean;
  /** Killed for WORKER_TIMEOUT; its exit is on its way. */
  timedOut?: boolean;
}

/** What the supervisor tells the rest of the primary; it never exits the process itself. */
export interface SupervisorEvents {
  /** A worker started listening. */
  listening(): void;
  /** Any other message from a worker (Prometheus scrapes); `reply` answers that worker. */
  otherMessage(msg: unknown, reply: (msg: PrimaryToWorker) => void): void;
  /** A worker is gone, whatever the reason (the spool releases what it held). */
  gone(pid: number): void;
  /** A worker died unexpectedly and is being replaced. */
  restarted(): void;
  /** Workers keep dying at start-up while others serve; once per streak, until a worker listens again. */
  crashLoopWhileServing(reason: string): void;
  /** Workers keep dying at start-up and none listens: the node cannot start. Forks have stopped. */
  giveUp(reason: string): void;
  /** Stopping, the last worker has exited. */
  allExited(): void;
}

export function describeError(err: Error): string {
  return (err as NodeJS.ErrnoException).code ?? err.message;
}

function describeExit(code: number | null, signal: string | null): string {
  return signal ? `signal ${signal}` : `exit code ${code}`;
}

/**
 * Forks the workers, tracks them, and replaces the ones that die as the
 * RestartPolicy decides. Draining, reloading and exiting belong to the
 * lifecycle; this only knows whether it is still running.
 */
export class Supervisor {
  private readonly tracked = new Map<number, Tracked>();
  private readonly restarts: RestartPolicy;
  private readonly maxBackoffMs: number;
  private state: 'running' | 'stopping' | 'given-up' = 'running';
  private lastStartupFailure: string | undefined;
  private crashLoopReported = false;

  constructor(
    private readonly config: Config,
    private readonly log: Logger,
    private readonly fleet: Fleet,
    private readonly on: SupervisorEvents,
  ) {
    this.maxBackoffMs = config.cluster.restartMaxBackoffSeconds * 1000;
    this.restarts = new RestartPolicy({
      maxBackoffMs: this.maxBackoffMs,
      crashLoopDeaths: config.cluster.crashLoopDeaths,
      crashLoopWindowMs: config.cluster.crashLoopWindowSeconds * 1000,
    });
    cluster.on('exit', (worker, code, signal) => this.onExit(worker, code, signal));
  }

  get size(): number {
    return this.tracked.size;
  }

  get running(): boolean {
    return this.state === 'running';
  }

  workers(): Tracked[] {
    return [...this.tracked.values()];
  }

  /** Workers that listen and are neither draining nor being killed. */
  listeningCount(): number {
    let n = 0;
    for (const t of this.tracked.values()) if (t.listening && !t.retiring && !t.timedOut) n++;
    return n;
  }

  /** From now on a worker that exits is not replaced; `allExited` follows the last exit. */
  stop(): void {
    if (this.state === 'running') this.state = 'stopping';
  }

  /** A worker can die while a message is on its way: that is logged, never fatal to the primary. */
  sendTo(worker: Worker, msg: PrimaryToWorker): void {
    sendIpc(worker.process, msg, (err) =>
      this.log.warn(`message ${msg.type} to worker ${worker.process.pid} not delivered (${describeError(err)}); the worker is exiting`),
    );
  }

  /**
   * To every worker; with `responsiveOnly`, not to those that stopped reading
   * their channel, for which node would queue every message (the periodic fleet view).
   */
  broadcast(msg: PrimaryToWorker, responsiveOnly = false): void {
    for (const { worker } of this.tracked.values()) {
      if (!responsiveOnly || !this.fleet.isUnresponsive(worker.process.pid!)) this.sendTo(worker, msg);
    }
  }

  /** Throws for spawn errors such as ENOMEM, EAGAIN, EMFILE. */
  fork(): Tracked {
    const worker = cluster.fork();
    // Every send goes through sendTo; this keeps any other error (a failed spawn, a
    // failed kill) from killing the primary.
    worker.on('error', (err: Error) => this.log.warn(`worker ${worker.process.pid ?? '(not started)'}: ${describeError(err)}`));
    if (worker.process.pid === undefined) {
      // EAGAIN/EMFILE/ENFILE: node reports the spawn failure as an 'error' (logged) and never as an exit.
      throw new Error('no worker process could be started: check the process and open-file limits (ulimit -u, ulimit -n)');
    }
    const t: Tracked = { worker, listening: false, retiring: false };
    this.tracked.set(worker.id, t);
    this.fleet.add(worker.process.pid);
    worker.on('message', (msg: unknown) => {
      if (isMessage<ListeningMessage>(msg, 'antenna:listening')) {
        t.listening = true;
        this.crashLoopReported = false;
        this.on.listening();
      } else if (isMessage<WorkerReport>(msg, 'antenna:report')) {
        this.fleet.record(msg);
      } else if (isMessage<StartupFailedMessage>(msg, 'antenna:startup-failed')) {
        this.lastStartupFailure = msg.reason;
      } else {
        this.on.otherMessage(msg, (reply) => this.sendTo(worker, reply));
      }
    });
    return t;
  }

  /** fork() that returns the error: the primary must outlive a failed spawn. */
  tryFork(): Tracked | Error {
    try {
      return this.fork();
    } catch (err) {
      return err as Error;
    }
  }

  /** gunicorn's worker timeout: a worker whose event loop is stuck never reports, and never serves. */
  killStuckWorkers(): void {
    const { workerTimeoutSeconds, workerStartTimeoutSeconds } = this.config.cluster;
    if (workerTimeoutSeconds === 0 || !this.running) return;
    for (const t of this.tracked.values()) {
      const pid = t.worker.process.pid!;
      const silentMs = this.fleet.silentForMs(pid);
      // Loading modules and checking backends can keep a starting worker quiet for a while.
      const limitSeconds = t.listening ? workerTimeoutSeconds : Math.max(workerTimeoutSeconds, workerStartTimeoutSeconds);
      if (t.retiring || t.timedOut || silentMs <= limitSeconds * 1000) continue;
      t.timedOut = true;
      const setting = t.listening ? `WORKER_TIMEOUT=${workerTimeoutSeconds}` : `not listening yet, WORKER_START_TIMEOUT=${workerStartTimeoutSeconds}`;
      this.log.error(`worker ${pid} has not reported for ${Math.round(silentMs / 1000)} s (${setting}): its event loop is stuck; killing it`);
      t.worker.process.kill('SIGKILL');
    }
  }

  waitListening(t: Tracked, timeoutMs: number): Promise<boolean> {
    if (t.listening) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => done(false), timeoutMs);
      const onMsg = (msg: unknown) => isMessage<ListeningMessage>(msg, 'antenna:listening') && done(true);
      const onExit = () => done(false);
      function done(ok: boolean) {
        clearTimeout(timer);
        t.worker.off('message', onMsg);
        t.worker.off('exit', onExit);
        resolve(ok);
      }
      t.worker.on('message', onMsg);
      t.worker.on('exit', onExit);
    });
  }

  /** Asks a worker to drain and exit; kills it after GRACEFUL_TIMEOUT. */
  async retire(t: Tracked): Promise<void> {
    t.retiring = true;
    this.sendTo(t.worker, { type: 'antenna:shutdown' });
    const timer = setTimeout(() => {
      this.log.error(`worker ${t.worker.process.pid} did not drain within ${this.config.cluster.gracefulTimeoutSeconds} s; killing it`);
      t.worker.process.kill('SIGKILL');
    }, this.config.cluster.gracefulTimeoutSeconds * 1000);
    if (!t.worker.isDead()) await new Promise((resolve) => t.worker.once('exit', resolve));
    clearTimeout(timer);
  }

  private onExit(worker: Worker, code: number | null, signal: string | null): void {
    const pid = worker.process.pid!;
    const t = this.tracked.get(worker.id);
    this.tracked.delete(worker.id);
    this.fleet.remove(pid);
    this.on.gone(pid);
    const how = describeExit(code, signal);
    if (!this.running || t?.retiring) {
      this.log.info(`worker ${pid} exited (${how})`);
      if (this.state === 'stopping' && this.tracked.size === 0) this.on.allExited();
      return;
    }
    const { crashLoopWindowSeconds: windowS, restartMaxBackoffSeconds: maxS } = this.config.cluster;
    const verdict = this.restarts.onDeath({ at: Date.now(), wasListening: t?.listening ?? false, othersListening: this.listeningCount() });
    const next =
      verdict.kind !== 'replace'
        ? ''
        : verdict.delayMs === 0
          ? '; it was serving: replacing it at once'
          : `; it had not listened yet (${verdict.startupDeaths} such deaths within ${windowS} s): replacing it in ${verdict.delayMs} ms`;
    if (code === 0 && !signal) {
      // It drained and left by itself: a SIGTERM sent to the worker rather than to the primary.
      this.log.warn(`worker ${pid} stopped on its own after draining (${how}; signal the primary to stop the node)${next}`);
    } else {
      this.log.error(`worker ${pid} died unexpectedly (${how})${next}`);
    }
    this.on.restarted();
    const reason = this.lastStartupFailure ? `; reason: ${this.lastStartupFailure}` : '';
    if (verdict.kind === 'crash-loop-give-up') {
      this.state = 'given-up';
      this.log.error(
        `Unhandled startup exception: workers keep dying at start-up (${verdict.startupDeaths} deaths within ${windowS} s; last: ${how}${reason}); giving up`,
      );
      // Only workers that never listened: they hold no acknowledged crash. One
      // that did (draining for a reload) drains on its own once the primary is gone.
      for (const other of this.tracked.values()) if (!other.listening) other.worker.process.kill('SIGKILL');
      this.on.giveUp(this.lastStartupFailure ?? how);
      return;
    }
    if (verdict.kind === 'crash-loop-serving') {
      // Never kill or abandon workers that serve: a new worker that cannot start
      // (a full disk, a limit, a backend gone since the others started) is no
      // reason to refuse clients the others can serve.
      this.log.error(
        `workers keep dying at start-up (${verdict.startupDeaths} deaths within ${windowS} s; last: ${how}${reason}); ` +
          `the ${this.listeningCount()} listening workers keep serving; trying again every ${maxS} s (WORKER_RESTART_MAX_BACKOFF)`,
      );
      if (!this.crashLoopReported) this.on.crashLoopWhileServing(this.lastStartupFailure ?? how);
      this.crashLoopReported = true;
    }
    const diedAt = Date.now();
    const replace = () => {
      if (!this.running) return;
      const replacement = this.tryFork();
      if (replacement instanceof Error) {
        this.log.error(`cannot fork a replacement for worker ${pid} (${describeError(replacement)}); trying again in ${maxS} s`);
        setTimeout(replace, this.maxBackoffMs);
      } else {
        this.log.info(`replaced worker ${pid} with worker ${replacement.worker.process.pid} after ${Date.now() - diedAt} ms`);
      }
    };
    if (verdict.delayMs === 0) replace();
    else setTimeout(replace, verdict.delayMs);
  }
}
