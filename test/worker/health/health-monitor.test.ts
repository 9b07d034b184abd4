import { Writable } from 'node:stream';
import { createLogger } from '../../../src/shared/logging';
import { HealthMonitor } from '../../../src/worker/health/health-monitor';

function logged() {
  const lines: string[] = [];
  const stream = new Writable({ write: (c, _e, cb) => (lines.push(String(c)), cb()) });
  return { lines, logger: createLogger({ level: 'INFO', localDevEnv: false, hostname: 'test', stream }) };
}

describe('HealthMonitor', () => {
  it('counts a check slower than its timeout as failed, keeps the others, and logs the change once each way', async () => {
    let slow = true;
    const { lines, logger } = logged();
    const monitor = new HealthMonitor(
      [
        { name: 'Slow', check: () => new Promise<void>((r) => setTimeout(r, slow ? 500 : 0)) },
        { name: 'Fast', check: async () => {} },
        { name: 'Warn', check: async () => Promise.reject(new Error('down')), critical: false },
      ],
      10_000,
      logger,
      50,
    );
    await monitor.runOnce();
    expect(monitor.errors).toEqual([{ name: 'Slow', msg: 'health check timed out after 50 ms' }]);
    expect(monitor.warnings).toEqual([{ name: 'Warn', msg: 'down' }]);
    await monitor.runOnce();
    slow = false;
    await monitor.runOnce();
    expect(monitor.errors).toEqual([]);
    const messages = lines.map((l) => JSON.parse(l).Fields.message as string);
    expect(messages.filter((m) => m.startsWith('health check failed: Slow'))).toHaveLength(1);
    expect(messages).toContain('health check recovered: Slow');
  });

  it('never waits longer than the interval, whatever the timeout', async () => {
    const monitor = new HealthMonitor([{ name: 'Hang', check: () => new Promise<void>(() => {}) }], 30, logged().logger, 60_000);
    await monitor.runOnce();
    expect(monitor.errors).toEqual([{ name: 'Hang', msg: 'health check timed out after 30 ms' }]);
  });
});
