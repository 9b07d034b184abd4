import { withRetry } from '../../../src/worker/crashmover/retry';

describe('withRetry', () => {
  afterEach(() => jest.useRealTimers());

  it('waits sleepMs on the real clock between attempts when no sleep is given', async () => {
    jest.useFakeTimers();
    let calls = 0;
    const result = withRetry(
      async () => {
        if (++calls === 1) throw new Error('once');
        return 'ok';
      },
      { attempts: 2, sleepMs: 1_000 },
    );
    await jest.advanceTimersByTimeAsync(999);
    expect(calls).toBe(1); // still waiting out the pause
    await jest.advanceTimersByTimeAsync(1);
    await expect(result).resolves.toBe('ok');
    expect(calls).toBe(2);
  });
});
