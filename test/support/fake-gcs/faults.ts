/**
 * Fault injection of the fake GCS server: outages, injected error statuses,
 * latency, holds, dropped connections and corrupted downloads. Each applies to
 * the requests its matcher selects (all of them without one).
 */
import type { FailOptions, FakeGcsRequest, RequestMatcher } from './types';
import type { Reply } from './wire';

const matches = (m: RequestMatcher | undefined, entry: FakeGcsRequest) => m === undefined || m(entry);

export class GcsFaults {
  private failures: { n: number; status: number; match?: RequestMatcher } = { n: 0, status: 503 };
  private latency: { ms: number; match?: RequestMatcher } = { ms: 0 };
  private drops: { n: number; match?: RequestMatcher } = { n: 0 };
  private corruptions = 0;
  private down = false;
  private readonly holds: Array<{ match?: RequestMatcher; released: Promise<void>; release: () => void }> = [];
  private readonly timers = new Set<NodeJS.Timeout>();

  failNext(n: number, opts: number | FailOptions = {}): void {
    const o = typeof opts === 'number' ? { status: opts } : opts;
    this.failures = { n, status: o.status ?? 503, match: o.match };
  }

  setLatency(ms: number, match?: RequestMatcher): void {
    this.latency = { ms, match };
  }

  dropNextConnections(n: number, match?: RequestMatcher): void {
    this.drops = { n, match };
  }

  hold(match?: RequestMatcher): () => void {
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    this.holds.push({ match, released, release });
    return release;
  }

  corruptNextDownloads(n: number): void {
    this.corruptions = n;
  }

  setDown(down: boolean): void {
    this.down = down;
  }

  /** Cancels every pending fault (failures, drops, latency, corruption, down); holds stay. */
  clear(): void {
    this.failures = { n: 0, status: 503 };
    this.latency = { ms: 0 };
    this.drops = { n: 0 };
    this.corruptions = 0;
    this.down = false;
  }

  /** Clears the faults, lets every held request go and cancels pending delays. */
  stop(): void {
    this.clear();
    for (const h of this.holds.splice(0)) h.release();
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }

  /** Whether this request's connection is to be destroyed before its body is read (counts it). */
  takeDrop(entry: FakeGcsRequest): boolean {
    if (this.drops.n <= 0 || !matches(this.drops.match, entry)) return false;
    this.drops.n--;
    return true;
  }

  /** Waits for the holds and the latency that apply to a request whose body was read. */
  async delay(entry: FakeGcsRequest): Promise<void> {
    for (const h of this.holds) if (matches(h.match, entry)) await h.released;
    if (this.latency.ms > 0 && matches(this.latency.match, entry)) await this.sleep(this.latency.ms);
  }

  /** The error to answer instead of handling the request (an outage or an injected failure), if any. */
  takeError(entry: FakeGcsRequest): { status: number; message: string } | undefined {
    if (this.down) return { status: 503, message: 'The fake GCS server is down.' };
    if (this.failures.n > 0 && matches(this.failures.match, entry)) {
      this.failures.n--;
      return { status: this.failures.status, message: `Injected failure (${this.failures.status}).` };
    }
    return undefined;
  }

  /** Flips a byte in a media download while downloads are to be corrupted. */
  corrupt(reply: Reply): Reply {
    if (this.corruptions > 0 && Buffer.isBuffer(reply.body) && reply.body.length > 0) {
      this.corruptions--;
      const bad = Buffer.from(reply.body);
      bad[bad.length >> 1] ^= 0xff;
      reply.body = bad;
    }
    return reply;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        this.timers.delete(t);
        resolve();
      }, ms);
      this.timers.add(t);
    });
  }
}
