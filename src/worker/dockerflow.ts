import type { Request, Response, Router } from 'express';
import type { Metrics } from '../shared/metrics';
import { readVersion } from '../shared/observability';
import type { HealthError } from './health/health-monitor';

export interface HeartbeatView {
  errors: HealthError[];
  /** Extra keys for the answer (e.g. the fleet view from the primary). */
  [key: string]: unknown;
}

export interface DockerflowDeps {
  basedir: string;
  brokenEnabled: boolean;
  heartbeat: () => HeartbeatView;
  /** False on the public port when an admin listener serves the details: see publicHeartbeat. */
  heartbeatDetails: boolean;
  metrics: Metrics;
}

/** What the public `/__heartbeat__` says about a failing check when the details are on the admin listener. */
export const HIDDEN_HEALTH_MSG = 'unhealthy; details on the admin listener';

/**
 * The heartbeat for the internet: the same errors (so the same status code),
 * each with its check's name (`GcsCrashStorage`, `Spool`, ...) and a fixed
 * message, since the real ones name buckets, endpoints and file paths. The
 * Antenna shape `{"errors": [{"name", "msg"}]}` is kept for whoever parses
 * it; the spool, worker and queue details are left out.
 */
export function publicHeartbeat(view: HeartbeatView): HeartbeatView {
  return { errors: view.errors.map(({ name }) => ({ name, msg: HIDDEN_HEALTH_MSG })) };
}

/** The Dockerflow endpoints of SPEC §3. Nothing here waits on I/O. */
export function mountDockerflow(router: Router, deps: DockerflowDeps): string[] {
  const version = readVersion(deps.basedir);
  router.get('/__lbheartbeat__', (_req: Request, res: Response) => {
    deps.metrics.incr('collector.health.lbheartbeat.count');
    res.status(200).json({});
  });
  router.get('/__heartbeat__', (_req: Request, res: Response) => {
    deps.metrics.incr('collector.health.heartbeat.count');
    const view = deps.heartbeat();
    res.status(view.errors.length > 0 ? 503 : 200).json(deps.heartbeatDetails ? view : publicHeartbeat(view));
  });
  router.get('/__version__', (_req: Request, res: Response) => {
    deps.metrics.incr('collector.health.version.count');
    res.status(200).json(version);
  });
  const paths = ['/__lbheartbeat__', '/__heartbeat__', '/__version__'];
  if (deps.brokenEnabled) {
    router.get('/__broken__', () => {
      deps.metrics.incr('collector.health.broken.count');
      throw new Error('intentional exception from /__broken__');
    });
    paths.push('/__broken__');
  }
  return paths;
}
