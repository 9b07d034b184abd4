// PM2: run ONE antenna process in fork mode. Antenna's own primary forks and
// supervises the workers (WORKERS, default 2 × CPUs + 1); PM2's cluster mode
// would fork primaries, each with its own fleet.
//
//   pm2 start /path/to/antenna/ecosystem.config.js   start, from any folder (PM2 waits for "ready")
//   pm2 sendSignal SIGHUP antenna        deploy: zero-downtime reload of the workers (lost 0 of 144 in a trial)
//   pm2 stop antenna                     graceful drain (SIGINT, up to kill_timeout)
//
// Do not deploy with `pm2 reload antenna` or `pm2 restart antenna`: in fork
// mode they restart the primary, which closes the listening socket (a trial
// refused 28 of 144 requests, ~1.5 s). SIGHUP replaces the workers one at a
// time under the same primary; new code in dist/ is picked up by the new
// workers.
const path = require('node:path');

module.exports = {
  apps: [
    {
      name: 'antenna',
      // Absolute paths: `pm2 start` may be run from any folder.
      cwd: __dirname,
      script: path.join(__dirname, 'dist', 'main.js'),
      exec_mode: 'fork',
      instances: 1,
      wait_ready: true,
      listen_timeout: 60000,
      // Longer than GRACEFUL_TIMEOUT (30 s) so in-flight crashes are saved before PM2 kills.
      kill_timeout: 35000,
      max_restarts: 10,
      min_uptime: 10000,
      exp_backoff_restart_delay: 1000,
      merge_logs: true,
      env: {
        NODE_ENV: 'production',
        PORT: 8000,
        CRASHMOVER_CRASHSTORAGE_FS_ROOT: './crashes',
      },
    },
  ],
};
