import { spawnSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..');

test('ecosystem.config.js names the app by absolute paths, so `pm2 start /path/to/ecosystem.config.js` works from any folder', () => {
  // Loaded from another working directory, as pm2 does when started elsewhere.
  const r = spawnSync(
    process.execPath,
    ['-e', `const c = require(${JSON.stringify(path.join(ROOT, 'ecosystem.config.js'))}); process.stdout.write(JSON.stringify(c.apps[0]))`],
    {
      cwd: os.tmpdir(),
      encoding: 'utf8',
    },
  );
  expect(r.status).toBe(0);
  const app = JSON.parse(r.stdout) as { cwd: string; script: string; exec_mode: string; instances: number };
  expect(app.cwd).toBe(ROOT);
  expect(app.script).toBe(path.join(ROOT, 'dist', 'main.js'));
  // One primary: Antenna forks its own workers.
  expect(app.exec_mode).toBe('fork');
  expect(app.instances).toBe(1);
});
