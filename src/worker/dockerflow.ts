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
  metrics: Metrics;
}

/** The Dockerflow endpoints of SPEC §3. Nothing here waits on I/O. */
export function mountDockerflow(router: Router, deps: DockerflowDeps): string[] {
  const version = readVersion(deps.basedir);
  const M = 'collector.health.';
  router.get('/__lbheartbeat__', (_req: Request, res: Response) => {
    deps.metrics.incr(M + 'lbheartbeat.count');
    res.status(200).json({});
  });
  router.get('/__heartbeat__', (_req: Request, res: Response) => {
    deps.metrics.incr(M + 'heartbeat.count');
    const view = deps.heartbeat();
    res.status(view.errors.length > 0 ? 503 : 200).json(view);
  });
  router.get('/__version__', (_req: Request, res: Response) => {
    deps.metrics.incr(M + 'version.count');
    res.status(200).json(version);
  });
  const paths = ['/__lbheartbeat__', '/__heartbeat__', '/__version__'];
  if (deps.brokenEnabled) {
    router.get('/__broken__', () => {
      deps.metrics.incr(M + 'broken.count');
      throw new Error('intentional exception from /__broken__');
    });
    paths.push('/__broken__');
  }
  return paths;
}
