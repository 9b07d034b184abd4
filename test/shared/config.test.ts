import os from 'node:os';
import { ConfigError, loadConfig } from '../../src/shared/config';

function problems(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('has the embedded defaults: fs storage under ./crashes, noop publish, port 8000', () => {
    const c = loadConfig({});
    expect(c.server.port).toBe(8000);
    expect(c.server.host).toBe('0.0.0.0');
    expect(c.storage.class).toBe('fs');
    expect(c.storage.fsRoot).toBe('./crashes');
    expect(c.publish.class).toBe('noop');
    expect(c.crashmover).toEqual({
      concurrentCrashmovers: 8,
      maxQueueSize: 512,
      maxAttempts: 5,
      retrySleepSeconds: 2,
      retryAfterSeconds: 30,
      spool: 'auto',
      spoolDir: './spool',
      spoolMaxBytes: { bytes: 10 * 1024 ** 3 },
      spoolMaxAgeSeconds: 7 * 24 * 3600,
      spoolMaxBackoffSeconds: 60,
      spoolSweepIntervalSeconds: 600,
      spoolSweepMinAgeSeconds: 600,
    });
    expect([c.storage.fsSweepIntervalSeconds, c.storage.fsSweepMinAgeSeconds]).toEqual([3600, 3600]);
    expect(c.breakpad.maxPayloadSize).toBe(26214400);
    expect(c.throttler).toEqual({ rules: { kind: 'builtin', name: 'accept_all' }, products: [], productPackageNames: {} });
    expect(c.cluster.workers).toBeGreaterThanOrEqual(3);
    expect(c.cluster.workers % 2).toBe(1);
  });

  it('names the variable, the value and what is expected', () => {
    expect(problems({ CRASHMOVER_CONCURRENT_CRASHMOVERS: 'lots' })).toEqual([
      'CRASHMOVER_CONCURRENT_CRASHMOVERS="lots" is invalid: expected an integer from 1 to 1024.',
    ]);
    const all = problems({ PORT: '70000', LOCAL_DEV_ENV: 'maybe', CRASHMOVER_CRASHSTORAGE_CLASS: 'ftp' });
    expect(all).toHaveLength(3);
    expect(all[0]).toMatch(/^PORT="70000" is invalid: expected an integer from 0 to 65535/);
    expect(all.join('\n')).toMatch(/LOCAL_DEV_ENV="maybe" is invalid: expected a boolean/);
    expect(all.join('\n')).toMatch(/CRASHMOVER_CRASHSTORAGE_CLASS="ftp" is invalid: expected one of fs, noop, gcs, s3/);
  });

  it('reads integers and numbers written in full, trimmed, within their range', () => {
    expect(loadConfig({ WORKERS: ' 4 ' }).cluster.workers).toBe(4);
    expect(loadConfig({ CRASHMOVER_RETRY_SLEEP_SECONDS: '.5' }).crashmover.retrySleepSeconds).toBe(0.5);
    expect(loadConfig({ CRASHMOVER_RETRY_SLEEP_SECONDS: '2.' }).crashmover.retrySleepSeconds).toBe(2);
    for (const bad of ['1e3', '4.0', '0x10', '9007199254740993', '-1', '300']) {
      expect(problems({ WORKERS: bad })[0]).toBe(`WORKERS="${bad}" is invalid: expected an integer from 1 to 256.`);
    }
    for (const bad of ['1e3', 'Infinity', 'NaN', '1.2.3', '-']) {
      expect(problems({ CRASHMOVER_RETRY_SLEEP_SECONDS: bad })[0]).toMatch(/^CRASHMOVER_RETRY_SLEEP_SECONDS=".*" is invalid: expected a number/);
    }
  });

  it('accepts Antenna class paths and rule paths as aliases', () => {
    const c = loadConfig({
      CRASHMOVER_CRASHSTORAGE_CLASS: 'antenna.ext.fs.crashstorage.FSCrashStorage',
      CRASHMOVER_CRASHPUBLISH_CLASS: 'antenna.ext.crashpublish_base.NoOpCrashPublish',
      BREAKPAD_THROTTLER_RULES: 'antenna.throttler.MOZILLA_RULES',
      BREAKPAD_THROTTLER_PRODUCTS: 'antenna.throttler.MOZILLA_PRODUCTS',
      GUNICORN_WORKERS: '3',
    });
    expect(c.storage.class).toBe('fs');
    expect(c.publish.class).toBe('noop');
    expect(c.throttler.rules).toEqual({ kind: 'builtin', name: 'mozilla' });
    expect(c.throttler.products).toContain('Firefox');
    expect(c.cluster.workers).toBe(3);
  });

  it('defaults WORKERS to 2 × CPUs + 1, like Gunicorn', () => {
    const cpus = os.availableParallelism();
    expect(loadConfig({}).cluster.workers).toBe(2 * cpus + 1);
    expect(loadConfig({ WORKERS: '4', GUNICORN_WORKERS: '9' }).cluster.workers).toBe(4);
  });

  it('defaults CLUSTER_SCHEDULING_POLICY to none and names the variable for a wrong value', () => {
    expect(loadConfig({}).cluster.schedulingPolicy).toBe('none');
    expect(loadConfig({ CLUSTER_SCHEDULING_POLICY: 'rr' }).cluster.schedulingPolicy).toBe('rr');
    expect(problems({ CLUSTER_SCHEDULING_POLICY: 'random' })[0]).toMatch(/^CLUSTER_SCHEDULING_POLICY="random" is invalid: expected one of none, rr/);
  });

  it('parses spool limits as sizes or a share of free disk, naming the variable when wrong', () => {
    expect(loadConfig({ CRASHMOVER_SPOOL_MAX_BYTES: '500MB' }).crashmover.spoolMaxBytes).toEqual({ bytes: 500e6 });
    expect(loadConfig({ CRASHMOVER_SPOOL_MAX_BYTES: '2GiB' }).crashmover.spoolMaxBytes).toEqual({ bytes: 2 * 1024 ** 3 });
    expect(loadConfig({ CRASHMOVER_SPOOL_MAX_BYTES: '1073741824' }).crashmover.spoolMaxBytes).toEqual({ bytes: 1073741824 });
    expect(loadConfig({ CRASHMOVER_SPOOL_MAX_BYTES: '50%' }).crashmover.spoolMaxBytes).toEqual({ percentOfFree: 50 });
    expect(problems({ CRASHMOVER_SPOOL_MAX_BYTES: 'lots' })[0]).toMatch(/^CRASHMOVER_SPOOL_MAX_BYTES="lots" is invalid: expected a size such as 10GiB/);
    expect(problems({ CRASHMOVER_SPOOL_MAX_BYTES: '150%' })[0]).toMatch(/at most 100/);
    expect(problems({ CRASHMOVER_SPOOL: 'maybe' })[0]).toMatch(/^CRASHMOVER_SPOOL="maybe" is invalid: expected one of auto, on, off/);
  });

  it('parses product lists and package-name maps', () => {
    expect(loadConfig({ BREAKPAD_THROTTLER_PRODUCTS: 'A, B ,C' }).throttler.products).toEqual(['A', 'B', 'C']);
    expect(loadConfig({ BREAKPAD_THROTTLER_PRODUCT_PACKAGENAMES: 'mozilla' }).throttler.productPackageNames.Fenix).toContain('org.mozilla.fenix');
    expect(loadConfig({ BREAKPAD_THROTTLER_PRODUCT_PACKAGENAMES: '{"X":["a.b"]}' }).throttler.productPackageNames).toEqual({ X: ['a.b'] });
    expect(problems({ BREAKPAD_THROTTLER_PRODUCT_PACKAGENAMES: '["a"]' })[0]).toMatch(/BREAKPAD_THROTTLER_PRODUCT_PACKAGENAMES="\[\\"a\\"\]" is invalid/);
    expect(problems({ BREAKPAD_THROTTLER_RULES: 'nonsense' })[0]).toMatch(/BREAKPAD_THROTTLER_RULES="nonsense" is invalid/);
  });

  it('checks options that depend on each other', () => {
    expect(problems({ CRASHMOVER_CRASHSTORAGE_CLASS: 'gcs' })).toEqual([
      'CRASHMOVER_CRASHSTORAGE_BUCKET_NAME is required when CRASHMOVER_CRASHSTORAGE_CLASS=gcs.',
    ]);
    expect(problems({ TLS_CERT_FILE: '/x.pem' })[0]).toMatch(/TLS_CERT_FILE and TLS_KEY_FILE must be set together/);
  });
});
