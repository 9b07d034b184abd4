import type { Logger } from '../../shared/logging';

export interface HealthError {
  name: string;
  msg: string;
}

export interface HealthCheck {
  name: string;
  check: () => Promise<void>;
  /** A failing non-critical check is reported as a warning and keeps the node healthy (e.g. storage behind a spool). */
  critical?: boolean;
}

function withTimeout(p: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`health check timed out after ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Runs the backend checks in the background and keeps the last result, so
 * `/__heartbeat__` answers from memory and never waits on the network.
 * Logs once when a backend turns unhealthy and once when it recovers.
 */
export class HealthMonitor {
  private current: Array<HealthError & { critical: boolean }> = [];
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(
    private readonly checks: HealthCheck[],
    private readonly intervalMs: number,
    private readonly logger: Logger,
    private readonly timeoutMs: number,
  ) {}

  get errors(): HealthError[] {
    return this.current.filter((e) => e.critical).map(({ name, msg }) => ({ name, msg }));
  }

  get warnings(): HealthError[] {
    return this.current.filter((e) => !e.critical).map(({ name, msg }) => ({ name, msg }));
  }

  /** Runs the checks now (once at a time) and schedules the next round. */
  async start(): Promise<void> {
    await this.runOnce();
    this.timer = setInterval(() => void this.runOnce(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  runOnce(): Promise<void> {
    this.running ??= this.collect().finally(() => (this.running = undefined));
    return this.running;
  }

  private async collect(): Promise<void> {
    const timeoutMs = Math.min(this.intervalMs, this.timeoutMs);
    const results = await Promise.all(
      this.checks.map(async ({ name, check, critical = true }) => {
        try {
          await withTimeout(check(), timeoutMs);
          return undefined;
        } catch (err) {
          return { name, msg: (err as Error).message || String(err), critical };
        }
      }),
    );
    const errors = results.filter((e) => e !== undefined);
    const before = new Set(this.current.map((e) => e.name));
    for (const e of errors) if (!before.has(e.name)) this.logger.error(`health check failed: ${e.name}: ${e.msg}`);
    const after = new Set(errors.map((e) => e.name));
    for (const name of before) if (!after.has(name)) this.logger.info(`health check recovered: ${name}`);
    this.current = errors;
  }
}
