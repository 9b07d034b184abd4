import { bool, int, optionalStr, str } from '../option';

/** StatsD, Prometheus, Sentry and the access log. */
export const observabilityOptions = {
  statsdHost: str({
    env: 'STATSD_HOST',
    default: 'localhost',
    doc: 'StatsD (DogStatsD) host that receives metrics over UDP.',
    expected: 'a host name or IP address',
  }),
  statsdPort: int({ env: 'STATSD_PORT', default: 8125, min: 1, max: 65535, doc: 'StatsD UDP port.' }),
  statsdNamespace: str({
    env: 'STATSD_NAMESPACE',
    default: 'socorro',
    doc: 'Prefix of every StatsD metric name (`<namespace>.collector…`).',
    expected: 'a metric name prefix',
  }),
  statsdAggregationIntervalMs: int({
    env: 'STATSD_AGGREGATION_INTERVAL_MS',
    default: 1000,
    min: 0,
    max: 60_000,
    doc: 'Milliseconds over which each process sums its StatsD counters (and keeps the last value of a gauge) per name and tags before sending one line, as the DogStatsD clients do; a count reaches StatsD up to this much later. Timings and histograms are sent one line per event whatever this says. `0` sends one line per counter call, as Antenna does.',
  }),
  metricsEnabled: bool({ env: 'METRICS_ENABLED', default: true, doc: 'Serve Prometheus metrics at `GET /metrics`.' }),
  metricsPublic: bool({
    env: 'METRICS_PUBLIC',
    default: false,
    doc: 'With `ADMIN_PORT` set, serve `/metrics` on `PORT` too (it is always on the admin listener). Without `ADMIN_PORT`, `/metrics` is on `PORT` whatever this says.',
  }),
  metricsCollectTimeoutMs: int({
    env: 'METRICS_COLLECT_TIMEOUT',
    default: 2000,
    min: 100,
    doc: 'Milliseconds the primary waits for each worker’s registry when `/metrics` is scraped; a worker that does not answer in time is left out of that scrape. The worker serving the scrape waits this long plus 3 s for the primary, then answers 503.',
  }),
  sentryDsn: optionalStr({ env: 'SECRET_SENTRY_DSN', secret: true, doc: 'Sentry DSN; unset sends nothing.', expected: 'a Sentry DSN URL' }),
  accessLogClientIp: bool({ env: 'ACCESS_LOG_CLIENT_IP', default: false, doc: 'Include client IP addresses in the access log.' }),
};
