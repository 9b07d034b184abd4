import { onOrphaned } from '../../src/primary/parent-watch';

// process.ppid as the watch sees it, changed by the test.
let ppid: number;
const realPpid = Object.getOwnPropertyDescriptor(process, 'ppid')!;
beforeEach(() => {
  ppid = 4242;
  Object.defineProperty(process, 'ppid', { get: () => ppid, configurable: true, enumerable: true });
  jest.useFakeTimers();
});
afterEach(() => {
  jest.clearAllTimers();
  jest.useRealTimers();
  Object.defineProperty(process, 'ppid', realPpid);
});

describe('onOrphaned', () => {
  it('stops the primary once, at the first check after its parent is gone', () => {
    const stops: number[] = [];
    const timer = onOrphaned(() => stops.push(Date.now()), 500);
    expect(timer.hasRef()).toBe(false);
    jest.advanceTimersByTime(2000);
    expect(stops).toHaveLength(0);
    ppid = 1; // re-parented to init
    jest.advanceTimersByTime(499);
    expect(stops).toHaveLength(0);
    jest.advanceTimersByTime(1);
    expect(stops).toHaveLength(1);
    jest.advanceTimersByTime(5000);
    expect(stops).toHaveLength(1);
  });

  it('checks twice a second by default', () => {
    let stopped = 0;
    onOrphaned(() => stopped++);
    ppid = 1;
    jest.advanceTimersByTime(499);
    expect(stopped).toBe(0);
    jest.advanceTimersByTime(1);
    expect(stopped).toBe(1);
  });
});
