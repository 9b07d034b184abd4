import type { Config } from '../shared/config';

/** What one listener serves besides `/submit`, `/__lbheartbeat__` and `/__version__`. */
export interface ListenerRoutes {
  metrics: boolean;
  /** Backend messages, spool, workers; otherwise only the failing checks' names (dockerflow.ts publicHeartbeat). */
  heartbeatDetails: boolean;
  broken: boolean;
}

export interface Exposure {
  public: ListenerRoutes;
  /** The admin listener, when `ADMIN_PORT` is set. */
  admin?: ListenerRoutes & { host: string; port: number };
}

/**
 * Which endpoint goes to which listener. Without `ADMIN_PORT` everything is
 * on `PORT`, as in Antenna. With it, the details (metrics, the detailed
 * heartbeat) move to the admin listener and `PORT` keeps what a load
 * balancer and a crash reporter need; `METRICS_PUBLIC` keeps `/metrics` on
 * `PORT` as well. `/__broken__` stays where the crash reporters' errors are
 * raised: on `PORT`.
 */
export function exposureFrom(config: Pick<Config, 'server' | 'observability'>): Exposure {
  const { adminPort, adminHost, localDevEnv, brokenEndpointEnabled } = config.server;
  const { metricsEnabled, metricsPublic } = config.observability;
  const broken = localDevEnv || brokenEndpointEnabled;
  if (adminPort === undefined) return { public: { metrics: metricsEnabled, heartbeatDetails: true, broken } };
  return {
    public: { metrics: metricsEnabled && metricsPublic, heartbeatDetails: false, broken },
    admin: { host: adminHost, port: adminPort, metrics: metricsEnabled, heartbeatDetails: true, broken: false },
  };
}
