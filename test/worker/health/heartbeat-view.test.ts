import type { FleetMessage } from '../../../src/shared/ipc';
import { heartbeatView, saveFailureError } from '../../../src/worker/health/heartbeat-view';
import type { SpoolSink } from '../../../src/worker/spool/spool-sink';

const worker = (pid: number, unresponsive: boolean) => ({ pid, save_queue_size: 2, in_flight: 1, last_report_ms: 10, unresponsive });
const fleet = (workers: FleetMessage['workers'], spool?: FleetMessage['spool']): FleetMessage => ({
  type: 'antenna:fleet',
  workers,
  saveQueueSize: workers.length * 2,
  spool,
});
const spoolSink = (full: boolean) => ({ isFull: () => full, usedBytes: () => 1234, outageSince: undefined }) as unknown as SpoolSink;

describe('heartbeatView', () => {
  it('is healthy with the fleet summed from the primary’s view', () => {
    const view = heartbeatView([], fleet([worker(1, false), worker(2, true)]));
    expect(view.errors).toEqual([]);
    expect(view.workers.map((w) => w.pid)).toEqual([1, 2]);
    expect(view.save_queue_size).toBe(4);
    expect(view).not.toHaveProperty('spool');
  });

  it('fails when no worker has reported lately', () => {
    const view = heartbeatView([], fleet([worker(1, true), worker(2, true)]));
    expect(view.errors.map((e) => e.name)).toEqual(['Fleet']);
  });

  it('fails on a full spool, and says "unknown" (null) for its crashes until the primary has listed it', () => {
    const view = heartbeatView([], undefined, { sink: spoolSink(true), warnings: [] });
    expect(view.errors.map((e) => e.name)).toEqual(['Spool']);
    expect(view.spool).toMatchObject({ crashes: null, bytes: 1234 });
    expect(view.save_queue_size).toBe(0);
  });

  it('names failing saves after the backend checks', () => {
    const failure = { since: Date.now() - 5000, kind: 'transient' as const, reason: 'unknown', message: 'bucket gone', crashes: 3 };
    const view = heartbeatView([{ name: 'GcsStorage', msg: 'down' }], undefined, undefined, { storage: 'GcsStorage', failure });
    expect(view.errors).toHaveLength(2);
    expect(view.errors[1]!.msg).toMatch(/^saves have been failing for \d+ s \(transient, 3 crashes\): bucket gone/);
  });
});

describe('saveFailureError', () => {
  it('says since when, with the storage’s name', () => {
    const e = saveFailureError('FsStorage', { since: 1000, kind: 'configuration', reason: 'x', message: 'EACCES', crashes: 1 }, 61_000);
    expect(e).toEqual({ name: 'FsStorage', msg: expect.stringContaining('failing for 60 s (configuration, 1 crashes): EACCES') });
  });
});
