/**
 * Fault injection of the fake AWS proxy: injected errors, latency, dropped
 * connections, outages and holds. Requests that get no fault are forwarded.
 */
import type http from 'node:http';
import { sendError } from './protocol';
import type { FailOptions, FakeAws, FakeAwsRequest } from './types';

type Matcher = (req: FakeAwsRequest) => boolean;

export class AwsFaults {
  private readonly fails: Array<Required<Pick<FailOptions, 'status'>> & FailOptions & { left: number }> = [];
  private latencyMs = 0;
  private dropsLeft = 0;
  private down: { status: number; code?: string; drop: boolean; match?: Matcher } | undefined;
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly holds: Array<{ match?: Matcher; released: Promise<void>; release: () => void }> = [];

  failNext(n: number, opts: FailOptions = {}): void {
    this.fails.push({ ...opts, status: opts.status ?? 503, left: n });
  }

  setLatency(ms: number): void {
    this.latencyMs = ms;
  }

  dropNextConnections(n: number): void {
    this.dropsLeft += n;
  }

  hold(match?: Matcher): () => void {
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    this.holds.push({ match, released, release });
    return release;
  }

  setDown(opts: Parameters<FakeAws['setDown']>[0]): void {
    this.down = opts ? { status: opts.status ?? 503, drop: opts.drop ?? false, match: opts.match } : undefined;
  }

  /** Lets every held request go and cancels pending delays. */
  stop(): void {
    for (const h of this.holds.splice(0)) h.release();
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }

  /** Waits for the holds that match a request, then applies the other faults or calls `forward`. */
  admit(req: http.IncomingMessage, res: http.ServerResponse, entry: FakeAwsRequest, forward: () => void): void {
    const held = this.holds.filter((h) => !h.match || h.match(entry));
    if (held.length === 0) return this.apply(req, res, entry, forward);
    void Promise.all(held.map((h) => h.released)).then(() => {
      if (res.destroyed) entry.status ??= 'aborted';
      else this.apply(req, res, entry, forward);
    });
  }

  private apply(req: http.IncomingMessage, res: http.ServerResponse, entry: FakeAwsRequest, forward: () => void): void {
    const outage = this.down && (!this.down.match || this.down.match(entry)) ? this.down : undefined;
    if (this.dropsLeft > 0 || outage?.drop) {
      if (!outage) this.dropsLeft--;
      entry.status = 'dropped';
      entry.injected = true;
      req.socket.destroy();
      return;
    }
    const fault = outage ?? this.takeFault(entry);
    if (fault) {
      entry.status = fault.status!;
      entry.injected = true;
      req.resume();
      req.on('end', () => sendError(req, res, entry, fault.status!, fault.code));
      return;
    }
    if (this.latencyMs > 0) return this.delay(res, entry, forward);
    forward();
  }

  private delay(res: http.ServerResponse, entry: FakeAwsRequest, forward: () => void): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      if (!res.destroyed) forward();
    }, this.latencyMs);
    this.timers.add(timer);
    res.on('close', () => {
      if (this.timers.delete(timer)) {
        clearTimeout(timer);
        entry.status ??= 'aborted';
      }
    });
  }

  private takeFault(entry: FakeAwsRequest): FailOptions | undefined {
    for (const f of this.fails) {
      if (f.left > 0 && (!f.match || f.match(entry))) {
        f.left--;
        return f;
      }
    }
    return undefined;
  }
}
