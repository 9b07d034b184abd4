import type { FleetMessage, FleetWorker, WorkerReport } from '../shared/ipc';

interface Entry {
  report?: WorkerReport;
  lastReportAt: number;
}

/** What the primary knows of its workers, from their periodic reports. */
export class Fleet {
  private readonly workers = new Map<number, Entry>();

  constructor(
    private readonly heartbeatIntervalMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  add(pid: number): void {
    this.workers.set(pid, { lastReportAt: this.now() });
  }

  remove(pid: number): void {
    this.workers.delete(pid);
  }

  record(report: WorkerReport): void {
    this.workers.set(report.pid, { report, lastReportAt: this.now() });
  }

  /** A worker that missed three reports in a row is unresponsive. */
  isUnresponsive(pid: number): boolean {
    return this.silentForMs(pid) > 3 * this.heartbeatIntervalMs;
  }

  /** Milliseconds since the worker's last report (or its fork); Infinity for a pid not in the fleet. */
  silentForMs(pid: number): number {
    const entry = this.workers.get(pid);
    return entry ? this.now() - entry.lastReportAt : Infinity;
  }

  view(): FleetMessage {
    const now = this.now();
    const workers: FleetWorker[] = [...this.workers.entries()].map(([pid, e]) => ({
      pid,
      save_queue_size: e.report?.saveQueueSize ?? 0,
      in_flight: e.report?.inFlight ?? 0,
      last_report_ms: now - e.lastReportAt,
      unresponsive: this.isUnresponsive(pid),
    }));
    return {
      type: 'antenna:fleet',
      workers,
      saveQueueSize: workers.reduce((sum, w) => sum + w.save_queue_size, 0),
    };
  }

  reports(): WorkerReport[] {
    return [...this.workers.values()].flatMap((e) => (e.report ? [e.report] : []));
  }
}
