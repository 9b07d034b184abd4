import { ConfigError, loadConfig } from '../../src/shared/config';
import { HIDDEN_HEALTH_MSG, publicHeartbeat } from '../../src/worker/dockerflow';
import { exposureFrom } from '../../src/worker/exposure';

describe('exposureFrom', () => {
  it('without ADMIN_PORT: everything on PORT, as Antenna', () => {
    expect(exposureFrom(loadConfig({}))).toEqual({ public: { metrics: true, heartbeatDetails: true, broken: false } });
    expect(exposureFrom(loadConfig({ METRICS_ENABLED: '0', BROKEN_ENDPOINT_ENABLED: '1' }))).toEqual({
      public: { metrics: false, heartbeatDetails: true, broken: true },
    });
  });

  it('with ADMIN_PORT: metrics and heartbeat details on the admin listener (127.0.0.1 by default), not on PORT', () => {
    expect(exposureFrom(loadConfig({ ADMIN_PORT: '9000' }))).toEqual({
      public: { metrics: false, heartbeatDetails: false, broken: false },
      admin: { host: '127.0.0.1', port: 9000, metrics: true, heartbeatDetails: true, broken: false },
    });
  });

  it('METRICS_PUBLIC=1 keeps /metrics on PORT as well; /__broken__ is never on the admin listener', () => {
    const e = exposureFrom(loadConfig({ ADMIN_PORT: '0', ADMIN_HOST: '10.0.0.5', METRICS_PUBLIC: '1', BROKEN_ENDPOINT_ENABLED: '1' }));
    expect(e.public).toEqual({ metrics: true, heartbeatDetails: false, broken: true });
    expect(e.admin).toEqual({ host: '10.0.0.5', port: 0, metrics: true, heartbeatDetails: true, broken: false });
  });

  it('refuses an ADMIN_PORT that is not a port, or is PORT, naming the variables', () => {
    const problems = (env: Record<string, string>) => {
      try {
        loadConfig(env);
      } catch (err) {
        if (err instanceof ConfigError) return err.problems;
        throw err;
      }
      return [];
    };
    expect(problems({ ADMIN_PORT: 'abc' })).toEqual([expect.stringMatching(/^ADMIN_PORT="abc" is invalid: .*0 to 65535/)]);
    expect(problems({ ADMIN_PORT: '70000' })).toEqual([expect.stringMatching(/^ADMIN_PORT="70000" is invalid/)]);
    expect(problems({ PORT: '8000', ADMIN_PORT: '8000' })).toEqual([
      expect.stringMatching(/^ADMIN_PORT=8000 is invalid: expected a port other than PORT \(8000\)/),
    ]);
    expect(problems({ PORT: '0', ADMIN_PORT: '0' })).toEqual([]);
    expect(loadConfig({ ADMIN_PORT: '' }).server.adminPort).toBeUndefined();
  });
});

describe('publicHeartbeat', () => {
  it('keeps the errors (so the status) and their names, hides the messages and every other key', () => {
    const view = {
      errors: [
        { name: 'GcsCrashStorage', msg: 'bucket my-bucket at http://10.0.0.7:4443 answered 403' },
        { name: 'FSCrashStorage', msg: "EACCES: permission denied, access '/srv/crashes'" },
      ],
      workers: [{ pid: 123 }],
      spool: { backends: [{ name: 'x', msg: '/var/spool' }] },
      save_queue_size: 3,
    };
    expect(publicHeartbeat(view)).toEqual({
      errors: [
        { name: 'GcsCrashStorage', msg: HIDDEN_HEALTH_MSG },
        { name: 'FSCrashStorage', msg: HIDDEN_HEALTH_MSG },
      ],
    });
    expect(publicHeartbeat({ errors: [], workers: [] })).toEqual({ errors: [] });
  });
});
