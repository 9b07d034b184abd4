// PM2: run ONE antenna process in fork mode. Antenna's own primary forks and
// supervises the workers (WORKERS, default 2 × CPUs + 1); PM2's cluster mode
// would fork primaries, each with its own fleet.
//
//   pm2 start ecosystem.config.js        start (PM2 waits for "ready")
//   pm2 sendSignal SIGHUP antenna        zero-downtime reload of the workers
//   pm2 stop antenna                     graceful drain (SIGINT, up to kill_timeout)
//
// `pm2 reload antenna` restarts the primary too, which drops the listening
// socket for a moment: prefer SIGHUP for deploys of configuration changes.
module.exports = {
  apps: [
    {
      name: 'antenna',
      script: 'dist/main.js',
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
