import { Fleet } from '../../src/primary/fleet';
import type { WorkerReport } from '../../src/shared/ipc';

function report(pid: number, saveQueueSize = 0): WorkerReport {
  return { type: 'antenna:report', pid, saveQueueSize, inFlight: 1 };
}

describe('fleet view', () => {
  it('marks only the worker that missed three reports as unresponsive', () => {
    let now = 0;
    const fleet = new Fleet(100, () => now);
    fleet.add(1);
    fleet.add(2);
    now = 250;
    fleet.record(report(2));
    now = 300;
    expect(fleet.isUnresponsive(1)).toBe(false); // exactly three intervals: not yet
    now = 301;
    const view = fleet.view();
    expect(view.workers.find((w) => w.pid === 1)).toEqual(expect.objectContaining({ unresponsive: true, last_report_ms: 301 }));
    expect(view.workers.find((w) => w.pid === 2)).toEqual(expect.objectContaining({ unresponsive: false, last_report_ms: 51 }));
    expect(fleet.silentForMs(1)).toBe(301);
    expect(fleet.silentForMs(2)).toBe(51);
    expect(fleet.silentForMs(99)).toBe(Infinity);
  });

  it('sums the save queues of the workers that reported, and forgets a removed worker', () => {
    const fleet = new Fleet(100, () => 0);
    fleet.record(report(1, 3));
    fleet.record(report(2, 4));
    fleet.add(3);
    expect(fleet.view().saveQueueSize).toBe(7);
    fleet.remove(2);
    expect(fleet.view().saveQueueSize).toBe(3);
    expect(fleet.view().workers.map((w) => w.pid)).toEqual([1, 3]);
    expect(fleet.isUnresponsive(2)).toBe(true);
    expect(fleet.reports().map((r) => r.pid)).toEqual([1]);
  });
});
