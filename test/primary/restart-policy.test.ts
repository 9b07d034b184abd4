import { FIRST_RESTART_DELAY_MS, RestartPolicy, type RestartVerdict } from '../../src/primary/restart-policy';

const limits = { maxBackoffMs: 10_000, crashLoopDeaths: 5, crashLoopWindowMs: 30_000 };

/** A policy and a clock the test moves. */
function setup(l = limits) {
  const policy = new RestartPolicy(l);
  let now = 1_000_000;
  return {
    advance: (ms: number) => (now += ms),
    serving: (othersListening = 1): RestartVerdict => policy.onDeath({ at: now, wasListening: true, othersListening }),
    starting: (othersListening = 1): RestartVerdict => policy.onDeath({ at: now, wasListening: false, othersListening }),
  };
}

describe('restart policy: a worker that was listening', () => {
  it('is replaced at once, however many died before it and however fast', () => {
    const p = setup();
    for (let i = 0; i < 50; i++) {
      expect(p.serving()).toEqual({ kind: 'replace', delayMs: 0, startupDeaths: 0 });
      p.advance(300);
    }
  });

  it('is replaced at once even when it was the last one listening', () => {
    const p = setup();
    for (let i = 0; i < 10; i++) expect(p.serving(0)).toEqual({ kind: 'replace', delayMs: 0, startupDeaths: 0 });
  });

  it('does not count toward the back-off of start-up deaths', () => {
    const p = setup();
    for (let i = 0; i < 20; i++) p.serving();
    expect(p.starting()).toEqual({ kind: 'replace', delayMs: FIRST_RESTART_DELAY_MS, startupDeaths: 1 });
  });

  it('does not count toward the crash loop: 4 serving deaths then one at start-up is no crash loop (CRASH_LOOP_DEATHS=5)', () => {
    const p = setup();
    for (let i = 0; i < 4; i++) p.serving();
    expect(p.starting(0).kind).toBe('replace');
  });

  it('is replaced at once while workers keep dying at start-up, and leaves their count as it is', () => {
    const p = setup();
    for (let i = 0; i < 5; i++) p.starting();
    expect(p.serving()).toEqual({ kind: 'replace', delayMs: 0, startupDeaths: 5 });
    expect(p.starting()).toEqual(expect.objectContaining({ kind: 'crash-loop-serving', startupDeaths: 6 }));
  });
});

describe('restart policy: a worker that died before listening', () => {
  it('is replaced after 100 ms, doubled for each start-up death within the window, up to WORKER_RESTART_MAX_BACKOFF', () => {
    const p = setup({ maxBackoffMs: 1000, crashLoopDeaths: 100, crashLoopWindowMs: 30_000 });
    const delays = Array.from({ length: 7 }, () => {
      const v = p.starting();
      p.advance(10);
      return v.kind === 'replace' ? v.delayMs : v.kind;
    });
    expect(delays).toEqual([100, 200, 400, 800, 1000, 1000, 1000]);
  });

  it('counts only the start-up deaths within CRASH_LOOP_WINDOW: older ones no longer lengthen the back-off', () => {
    const p = setup();
    p.starting();
    p.advance(10_000);
    p.starting();
    p.advance(10_000);
    expect(p.starting()).toEqual({ kind: 'replace', delayMs: 400, startupDeaths: 3 });
    p.advance(10_000); // the first death is exactly 30 s old: still within the window
    expect(p.starting()).toEqual({ kind: 'replace', delayMs: 800, startupDeaths: 4 });
    p.advance(1); // now it is older
    expect(p.starting()).toEqual({ kind: 'replace', delayMs: 800, startupDeaths: 4 });
    p.advance(60_000);
    expect(p.starting()).toEqual({ kind: 'replace', delayMs: 100, startupDeaths: 1 });
  });

  it('the CRASH_LOOP_DEATHS-th within the window with no other worker listening: give up', () => {
    const p = setup();
    for (let i = 0; i < 4; i++) expect(p.starting(0).kind).toBe('replace');
    expect(p.starting(0)).toEqual({ kind: 'crash-loop-give-up', startupDeaths: 5 });
  });

  it('the CRASH_LOOP_DEATHS-th within the window while others listen: they keep serving, retried at the maximum back-off', () => {
    const p = setup();
    for (let i = 0; i < 4; i++) expect(p.starting(2).kind).toBe('replace');
    expect(p.starting(2)).toEqual({ kind: 'crash-loop-serving', delayMs: 10_000, startupDeaths: 5 });
    p.advance(10_000);
    expect(p.starting(2)).toEqual({ kind: 'crash-loop-serving', delayMs: 10_000, startupDeaths: 6 });
  });

  it('gives up once the last listening worker is gone while the start-up deaths go on', () => {
    const p = setup();
    for (let i = 0; i < 5; i++) p.starting(1);
    expect(p.serving(0).kind).toBe('replace'); // the last one serving was killed: replaced at once
    expect(p.starting(0)).toEqual({ kind: 'crash-loop-give-up', startupDeaths: 6 });
  });

  it('start-up deaths spread wider than the window never make a crash loop', () => {
    const p = setup();
    for (let i = 0; i < 100; i++) {
      expect(p.starting(0).kind).toBe('replace');
      p.advance(7_600); // 4 deaths per 30 s window at most
    }
  });

  it('with CRASH_LOOP_DEATHS=2, the second start-up death within the window is a crash loop', () => {
    const p = setup({ maxBackoffMs: 10_000, crashLoopDeaths: 2, crashLoopWindowMs: 1000 });
    expect(p.starting(0)).toEqual({ kind: 'replace', delayMs: 100, startupDeaths: 1 });
    p.advance(500);
    expect(p.starting(0)).toEqual({ kind: 'crash-loop-give-up', startupDeaths: 2 });
  });
});
