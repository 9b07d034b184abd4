import { KindedError } from '../../../src/shared/failure';
import { SaveHealth } from '../../../src/worker/crashmover/save-health';

describe('SaveHealth', () => {
  it('starts an outage on the first failure only, and counts every crash that failed during it', () => {
    let now = 1_000;
    const health = new SaveHealth(() => now);
    expect(health.failing).toBeUndefined();
    expect(health.failed(new KindedError('configuration', 'bucket_missing', 'bucket crashes does not exist'))).toBe(true);
    now = 5_000;
    expect(health.failed(new Error('second'))).toBe(false);
    expect(health.failed(new Error('third'))).toBe(false);
    // The first failure names the outage; later ones only count.
    expect(health.failing).toEqual({ since: 1_000, kind: 'configuration', reason: 'bucket_missing', message: 'bucket crashes does not exist', crashes: 3 });
  });

  it('reports how long the outage lasted when a save works again, and then is healthy', () => {
    let now = 10_000;
    const health = new SaveHealth(() => now);
    expect(health.succeeded()).toBeUndefined(); // no outage to end
    health.failed(new Error('down'));
    now = 17_500;
    expect(health.succeeded()).toBe(7_500);
    expect(health.failing).toBeUndefined();
    expect(health.succeeded()).toBeUndefined();
  });

  it('keeps only the start of a long message (it is shown on /__heartbeat__ and in logs)', () => {
    const health = new SaveHealth(() => 0);
    health.failed(new Error('x'.repeat(1000)));
    expect(health.failing!.message).toBe('x'.repeat(300));
  });

  it('describes a thrown non-Error by its string form', () => {
    const health = new SaveHealth(() => 0);
    health.failed('plain string');
    expect(health.failing).toEqual(expect.objectContaining({ message: 'plain string', kind: 'transient' }));
  });
});
