import { METRICS_BY_NAME } from '../../../src/shared/metrics/catalog';
import { SINK_REFUSALS, SinkRefusal, type SinkRefusalReason } from '../../../src/worker/crashmover/crash-sink';

describe('sink refusals', () => {
  const reasons = Object.keys(SINK_REFUSALS) as SinkRefusalReason[];

  it('carry their reason, the registry sentence and Retry-After', () => {
    const r = new SinkRefusal('full', 7);
    expect(r).toMatchObject({ reason: 'full', retryAfterSeconds: 7, why: SINK_REFUSALS.full, message: SINK_REFUSALS.full });
    expect(new SinkRefusal('storage_failing', 3, 'more precise').why).toBe('more precise');
  });

  it('are each documented as a reason tag of a refused count in the metric catalog', () => {
    const descriptions = ['collector.crashmover.refused.count', 'collector.spool.refused.count'].map((n) => METRICS_BY_NAME.get(n)!.description).join(' ');
    const tagged = new Set([...descriptions.matchAll(/`(?:reason:)?([a-z_]+)`/g)].map((m) => m[1]!));
    expect(reasons.filter((r) => !tagged.has(r))).toEqual([]);
  });
});
