import http from 'node:http';
import path from 'node:path';
import { crashBody } from '../../bench/lib/bodies';
import { runLoad } from '../../bench/lib/load';
import { parseOptions, SIZES, UsageError, type Options } from '../../bench/lib/options';
import { evaluateTargets } from '../../bench/lib/report';
import { antennaCommand, removeDataDirs, startServer, type Server } from '../../bench/lib/servers';
import { runRecord } from './run-record';

const CLOSING_SERVER = path.join(__dirname, 'fixtures', 'closing-server.js');
const options = (argv: string[], env: NodeJS.ProcessEnv = {}) => parseOptions(argv, env, '/r') as Options;

function getJson(port: number, p: string): Promise<Record<string, number>> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: p, agent: false }, (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => resolve(JSON.parse(text) as Record<string, number>));
      })
      .on('error', reject);
  });
}

describe('Antenna side by side', () => {
  it('runs only when named, and then needs the command that starts it', () => {
    expect(options([]).servers).not.toContain('antenna');
    expect(() => parseOptions(['--only', 'antenna,noop'], {}, '/r')).toThrow(UsageError);
    expect(() => parseOptions(['--only', 'antenna,noop'], {}, '/r')).toThrow(/--antenna-cmd/);
    const o = options(['--only', 'antenna,noop', '--antenna-cmd', '/opt/antenna/start.sh {port} {workers}']);
    expect(o).toMatchObject({ servers: ['noop', 'antenna'], antennaCmd: '/opt/antenna/start.sh {port} {workers}' });
    expect(options(['--only', 'antenna'], { BENCH_ANTENNA_CMD: 'run {port}' }).antennaCmd).toBe('run {port}');
    expect(antennaCommand('start.sh --bind 127.0.0.1:{port} -w {workers} # {port}', 8123, 5)).toBe('start.sh --bind 127.0.0.1:8123 -w 5 # 8123');
  });

  it('judges noop against its target scaled by Antenna here ÷ Antenna on the issue’s machine, at the same point', () => {
    const targets = evaluateTargets([
      runRecord('noop', undefined, { size: '4k', cpuMsPerCrash: 0.5 }),
      runRecord('antenna', undefined, { size: '4k', cpuMsPerCrash: 2.5 }),
      runRecord('noop', undefined, { size: '400k', cpuMsPerCrash: 1.5 }),
      runRecord('antenna', undefined, { size: '400k', cpuMsPerCrash: 5.4 }),
    ]);
    const anchor = targets.find((t) => t.name.includes('Antenna'))!;
    expect(anchor.status).toBe('FAIL');
    expect(anchor.details).toEqual([
      'ok   4 KB plain 16 conns: 0.500 ≤ 0.25 × 2.500 ÷ 1.075 = 0.581 ms (Antenna ÷ noop 5.00, 4.30 at the target)',
      'FAIL 400 KB plain 16 conns: 1.500 ≤ 0.6 × 5.400 ÷ 2.75 = 1.178 ms (Antenna ÷ noop 3.60, 4.58 at the target)',
    ]);
    expect(targets.find((t) => t.name.startsWith('4 KB: noop CPU'))!.details[0]).toContain('Antenna 2.500 ms (5.0×)');
    expect(evaluateTargets([runRecord('noop', undefined, { size: '4k' })]).find((t) => t.name.includes('Antenna'))!.status).toBe('n/a');
  });

  describe('against a server that closes every connection after its answer, as gunicorn’s sync workers do', () => {
    let server: Server | undefined;
    afterEach(async () => {
      await server?.stop();
      server = undefined;
    });
    afterAll(() => removeDataDirs());

    it('starts from the command, and the load opens one connection per request: no request is cut', async () => {
      server = await startServer('antenna', { workers: 5, collectorEnv: {}, antennaCmd: `"${process.execPath}" "${CLOSING_SERVER}" {port}` });
      expect(server.closesConnections).toBe(true);
      const body = crashBody(SIZES['4m'], 'plain');

      const before = await getJson(server.port, '/stats');
      const load = await runLoad(server.url, body, 4, 2, { connectionPerRequest: true });
      const after = await getJson(server.port, '/stats');
      expect(load.ok2xx).toBeGreaterThan(4);
      expect(load).toMatchObject({ non2xx: 0, errors: 0, timeouts: 0, unexpectedBodies: 0 });
      expect(load.crashIds).toHaveLength(load.ok2xx);
      expect(load.latencyP99Ms).toBeGreaterThan(0);
      expect(after.requests! - before.requests!).toBe(load.ok2xx);
      // One connection per request (the /stats probe opens one of its own).
      expect(after.connections! - before.connections! - 1).toBe(load.ok2xx);
      expect(after.cutBodies).toBe(0);

      // autocannon keeps writing into connections the server has closed: the reason for the above.
      const kept = await runLoad(server.url, body, 4, 2);
      expect(kept.errors).toBeGreaterThan(0);

      const pid = server.pid;
      await server.stop();
      server = undefined;
      expect(() => process.kill(pid, 0)).toThrow();
    }, 60_000);
  });
});
