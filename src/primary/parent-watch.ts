/**
 * `npm start` does not pass SIGTERM or SIGINT on to the script (npm 11): a
 * supervisor that signals npm's pid kills npm, and the primary would serve on
 * as an orphan. Checked twice a second, an orphaned primary (its parent gone,
 * so its ppid changed) stops as if it had received SIGTERM: it drains.
 */
export function onOrphaned(stop: () => void, intervalMs = 500): NodeJS.Timeout {
  const parent = process.ppid;
  const timer = setInterval(() => {
    if (process.ppid === parent) return;
    clearInterval(timer);
    stop();
  }, intervalMs);
  timer.unref();
  return timer;
}
