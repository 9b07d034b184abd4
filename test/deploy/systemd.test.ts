import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';

const UNIT = path.resolve(__dirname, '..', '..', 'deploy', 'antenna.service');
const hasTool = spawnSync('systemd-analyze', ['--version']).status === 0;
if (!hasTool) console.warn('systemd-analyze is not installed: skipping the checks of deploy/antenna.service (apt-get install systemd)');
const maybe = hasTool ? describe : describe.skip;

maybe('deploy/antenna.service', () => {
  test('systemd-analyze verify accepts it without a warning (a misplaced key is silently ignored by systemd)', () => {
    const r = spawnSync('systemd-analyze', ['verify', UNIT], { encoding: 'utf8' });
    // It warns about the ExecStart binary only when node is not at /usr/bin/node on this machine.
    const warnings = `${r.stdout}${r.stderr}`.split('\n').filter((l) => l.trim() && !/Command \/usr\/bin\/node is not executable|not found/.test(l));
    expect(warnings).toEqual([]);
  });

  test('systemd-analyze security rates it under 3 (OK)', () => {
    const r = spawnSync('systemd-analyze', ['security', '--offline=true', '--no-pager', UNIT], { encoding: 'utf8' });
    const m = /Overall exposure level for antenna\.service: ([\d.]+)/.exec(`${r.stdout}${r.stderr}`);
    expect(m).not.toBeNull();
    expect(Number(m![1])).toBeLessThan(3);
  });
});

describe('deploy/antenna.service paths', () => {
  const unit = readFileSync(UNIT, 'utf8');
  test('storage and spool live in the writable StateDirectory', () => {
    expect(unit).toMatch(/^StateDirectory=antenna$/m);
    expect(unit).toMatch(/^Environment=CRASHMOVER_CRASHSTORAGE_FS_ROOT=\/var\/lib\/antenna\//m);
    expect(unit).toMatch(/^Environment=CRASHMOVER_SPOOL_DIR=\/var\/lib\/antenna\//m);
  });
  test('the crash-loop limit is in [Unit], where systemd reads it', () => {
    const unitSection = unit.split(/^\[Service\]$/m)[0]!;
    expect(unitSection).toMatch(/^StartLimitIntervalSec=\d+$/m);
    expect(unitSection).toMatch(/^StartLimitBurst=\d+$/m);
  });
});
