/**
 * Every metric the collector emits, in one table: the StatsD name (Antenna's,
 * without the namespace prefix), its type and tags, and how it appears in
 * Prometheus; then the Prometheus-only metrics. docs/metrics.md and the
 * Grafana dashboard are generated from these tables, and `Metrics` calls take
 * only a `MetricName` of the first.
 */
export type StatsdType = 'incr' | 'gauge' | 'timing' | 'histogram';

export interface PromMapping {
  readonly name: string;
  readonly kind: 'counter' | 'gauge' | 'histogram';
  readonly help: string;
  /** Tag keys that become labels (taken from the call's tags). */
  readonly labels?: readonly string[];
  /** Labels fixed by the mapping, e.g. `{endpoint: "heartbeat"}`. */
  readonly constLabels?: Readonly<Record<string, string>>;
  /** Multiplier from the StatsD value (ms → s: 0.001). */
  readonly scale?: number;
  readonly buckets?: readonly number[];
}

export interface MetricSpec<N extends string = string> {
  readonly name: N;
  readonly type: StatsdType;
  /** DogStatsD tag keys sent with the metric (besides `host`). Other tags on a call go to Prometheus only. */
  readonly tags: readonly string[];
  readonly description: string;
  /** Which process sends it to StatsD; the worker's per-process value of a fleet gauge stays in Prometheus. */
  readonly statsdFrom?: 'worker' | 'primary';
  readonly prom?: PromMapping;
}

const SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
const BYTES = [1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 33554432];

const COLLECTOR_METRICS = [
  {
    name: 'collector.connection_dropped',
    type: 'incr',
    tags: [],
    description: 'A worker closed a new connection as it was accepted: it had `MAX_CONNECTIONS_PER_WORKER` open already.',
    prom: {
      name: 'antenna_connections_dropped_total',
      kind: 'counter',
      help: 'New connections closed because the worker had MAX_CONNECTIONS_PER_WORKER open.',
    },
  },
  {
    name: 'sentry_scrub_error',
    type: 'incr',
    tags: ['service'],
    description: 'Scrubbing an event before sending it to Sentry failed; the event was dropped. `service:collector`.',
    prom: { name: 'antenna_sentry_scrub_errors_total', kind: 'counter', help: 'Sentry events dropped because scrubbing failed.' },
  },
  {
    name: 'collector.breakpad_resource.gzipped_crash',
    type: 'incr',
    tags: [],
    description: 'A crash report payload arrived gzip-compressed.',
    prom: { name: 'antenna_gzipped_crashes_total', kind: 'counter', help: 'Crash payloads received gzip-compressed.' },
  },
  {
    name: 'collector.breakpad_resource.gzipped_crash_decompress',
    type: 'histogram',
    tags: ['result'],
    description: 'Milliseconds spent decompressing a gzipped payload; `result:success` or `result:fail`.',
  },
  {
    name: 'collector.breakpad_resource.crash_size',
    type: 'histogram',
    tags: ['payload'],
    description: 'Payload size in bytes as received; `payload:compressed` or `payload:uncompressed`.',
    prom: { name: 'antenna_crash_size_bytes', kind: 'histogram', help: 'Crash payload size on the wire.', labels: ['payload'], buckets: BYTES },
  },
  {
    name: 'collector.breakpad_resource.on_post.time',
    type: 'timing',
    tags: [],
    description: 'Milliseconds to handle one `POST /submit`, from headers to answer.',
    prom: { name: 'antenna_submit_seconds', kind: 'histogram', help: 'Time to handle one POST /submit.', scale: 0.001, buckets: SECONDS },
  },
  {
    name: 'collector.breakpad_resource.malformed',
    type: 'incr',
    tags: ['reason'],
    description: 'A submission was rejected as malformed; `reason:` names the rule of SPEC §1.1 (e.g. `bad_gzip`, `no_annotations`, `too_large`).',
    prom: { name: 'antenna_malformed_total', kind: 'counter', help: 'Submissions rejected as malformed.', labels: ['reason'] },
  },
  {
    name: 'collector.breakpad_resource.refused',
    type: 'incr',
    tags: ['reason'],
    description:
      'An upload was refused with 503 and `Retry-After` while it was being read; `reason:memory_budget`: the worker held `BREAKPAD_WORKER_MEMORY_BUDGET` bytes of bodies already.',
    prom: { name: 'antenna_uploads_refused_total', kind: 'counter', help: 'Uploads refused with 503 while being read.', labels: ['reason'] },
  },
  {
    name: 'collector.breakpad_resource.incoming_crash',
    type: 'incr',
    tags: [],
    description: 'A well-formed crash report was received.',
    prom: { name: 'antenna_crashes_received_total', kind: 'counter', help: 'Well-formed crash reports received.' },
  },
  {
    name: 'collector.breakpad_resource.throttle_rule',
    type: 'incr',
    tags: ['rule'],
    description: 'The throttle rule that decided a crash; `rule:<name>` (or `NO_MATCH`).',
  },
  {
    name: 'collector.breakpad_resource.throttle',
    type: 'incr',
    tags: ['result'],
    description: 'The throttle result; `result:accept`, `defer`, `reject` or `fakeaccept`.',
    prom: { name: 'antenna_throttle_total', kind: 'counter', help: 'Throttle decisions by result and rule.', labels: ['result', 'rule'] },
  },
  {
    name: 'collector.breakpad_resource.unauthorized_uuid',
    type: 'incr',
    tags: [],
    description: 'A submission carried a `uuid` without the stage submitter’s bearer token.',
    prom: { name: 'antenna_unauthorized_uuid_total', kind: 'counter', help: 'Submissions with a uuid but no valid bearer token.' },
  },
  {
    name: 'collector.crashmover.retry_count',
    type: 'incr',
    tags: ['count'],
    description: 'A save or publish attempt failed and will be retried; `count:save_crash_exception.count` or `count:publish_crash_exception.count`.',
    prom: { name: 'antenna_crashmover_retries_total', kind: 'counter', help: 'Failed save/publish attempts that were retried.', labels: ['count'] },
  },
  {
    name: 'collector.crashmover.crash_handling.time',
    type: 'timing',
    tags: [],
    description: 'Milliseconds to save and publish one crash, retries included.',
    prom: { name: 'antenna_crash_handling_seconds', kind: 'histogram', help: 'Time to save and publish one crash.', scale: 0.001, buckets: SECONDS },
  },
  {
    name: 'collector.crashmover.save_crash_dropped.count',
    type: 'incr',
    tags: [],
    description: 'A crash could not be saved after the last attempt (the client got 500).',
    prom: { name: 'antenna_save_failures_total', kind: 'counter', help: 'Crashes that could not be saved after the last attempt.' },
  },
  {
    name: 'collector.crashmover.save_crash.count',
    type: 'incr',
    tags: [],
    description: 'A crash was saved and published.',
    prom: {
      name: 'antenna_crashes_saved_total',
      kind: 'counter',
      help: 'Crashes saved to storage, by whether publishing their id succeeded.',
      constLabels: { published: 'true' },
    },
  },
  {
    name: 'collector.crashmover.publish_crash_dropped.count',
    type: 'incr',
    tags: [],
    description: 'A crash was saved but its id could not be published after the last attempt.',
    prom: {
      name: 'antenna_crashes_saved_total',
      kind: 'counter',
      help: 'Crashes saved to storage, by whether publishing their id succeeded.',
      constLabels: { published: 'false' },
    },
  },
  {
    name: 'collector.crashmover.save_failure.count',
    type: 'incr',
    tags: ['kind', 'reason'],
    description:
      'A crash could not be stored, for good: without the spool, `kind:transient` after the last attempt (client got 500 with `Retry-After`) or `kind:configuration` at once, without retrying (500 with `Retry-After`); in both modes `kind:permanent` at once for a crash that can never be stored (400 `Discarded=malformed_unstorable`; with the spool, when it cannot even be spooled). `reason:` says why (e.g. `unserializable`, `invalid_dump_name`, `unknown`).',
    prom: {
      name: 'antenna_save_failures_by_kind_total',
      kind: 'counter',
      help: 'Crashes whose save failed for good, by failure kind and reason.',
      labels: ['kind', 'reason'],
    },
  },
  {
    name: 'collector.crashmover.refused.count',
    type: 'incr',
    tags: ['reason'],
    description:
      'Without the spool: a crash was refused with 503 and `Retry-After` before any save; `reason:queue_full`, `draining`, or `storage_failing` (saves are failing, so the client is answered at once instead of after the retries).',
    prom: { name: 'antenna_crashmover_refused_total', kind: 'counter', help: 'Crashes refused with 503 by the crashmover, by reason.', labels: ['reason'] },
  },
  {
    name: 'collector.crashmover.crash_save.time',
    type: 'timing',
    tags: [],
    description: 'Milliseconds of one save attempt.',
    prom: { name: 'antenna_save_seconds', kind: 'histogram', help: 'Time of one save attempt.', scale: 0.001, buckets: SECONDS },
  },
  {
    name: 'collector.crashmover.crash_publish.time',
    type: 'timing',
    tags: [],
    description: 'Milliseconds of one publish attempt.',
    prom: { name: 'antenna_publish_seconds', kind: 'histogram', help: 'Time of one publish attempt.', scale: 0.001, buckets: SECONDS },
  },
  {
    name: 'collector.crashmover.save_queue_size',
    type: 'gauge',
    tags: [],
    statsdFrom: 'primary',
    description: 'Crashes waiting to be saved, summed over the node’s workers (sent by the primary every `HEARTBEAT_INTERVAL`).',
    prom: { name: 'antenna_save_queue_size', kind: 'gauge', help: 'Crashes waiting to be saved (summed over workers).' },
  },
  ...(['broken', 'version', 'lbheartbeat', 'heartbeat'] as const).map(
    (endpoint) =>
      ({
        name: `collector.health.${endpoint}.count` as const,
        type: 'incr',
        tags: [],
        description: `A request to \`/__${endpoint}__\`.`,
        prom: {
          name: 'antenna_health_requests_total',
          kind: 'counter',
          help: 'Requests to the Dockerflow endpoints.',
          constLabels: { endpoint },
        },
      }) satisfies MetricSpec,
  ),
] as const satisfies readonly MetricSpec[];

const SPOOL_METRICS = [
  ...(['crashes', 'bytes', 'oldest_age_seconds'] as const).map(
    (what) =>
      ({
        name: `collector.spool.${what}` as const,
        type: 'gauge',
        tags: [],
        statsdFrom: 'primary',
        description: `Spool mode: ${what === 'crashes' ? 'crashes' : what === 'bytes' ? 'bytes' : 'age in seconds of the oldest crash'} in the spool, node-wide (sent by the primary every \`HEARTBEAT_INTERVAL\`).`,
      }) satisfies MetricSpec,
  ),
  {
    name: 'collector.spool.moved.count',
    type: 'incr',
    tags: [],
    description: 'Spool mode: a spooled crash was saved and published, and left the spool.',
    prom: { name: 'antenna_spool_moved_total', kind: 'counter', help: 'Spooled crashes saved, published and removed from the spool.' },
  },
  {
    name: 'collector.spool.move_failed.count',
    type: 'incr',
    tags: ['operation'],
    description: 'Spool mode: an attempt to move a spooled crash failed and will be retried with back-off; `operation:save` or `operation:publish`.',
    prom: { name: 'antenna_spool_move_failures_total', kind: 'counter', help: 'Failed attempts to move spooled crashes.', labels: ['operation'] },
  },
  {
    name: 'collector.spool.expired.count',
    type: 'incr',
    tags: [],
    description: 'Spool mode: a crash waited longer than `CRASHMOVER_SPOOL_MAX_AGE` and was deleted unsaved (logged with its id).',
    prom: { name: 'antenna_spool_expired_total', kind: 'counter', help: 'Spooled crashes deleted unsaved after CRASHMOVER_SPOOL_MAX_AGE.' },
  },
  {
    name: 'collector.spool.corrupt.count',
    type: 'incr',
    tags: [],
    description: 'Spool mode: a spool entry could not be decoded and was moved to `<spool>/corrupt/`.',
    prom: { name: 'antenna_spool_corrupt_total', kind: 'counter', help: 'Spool entries that could not be decoded.' },
  },
  {
    name: 'collector.spool.quarantined.count',
    type: 'incr',
    tags: ['reason'],
    description:
      'Spool mode: an entry that no retry can move was moved to `<spool>/corrupt/` at once, without backing off the other entries (logged with its crash id); `reason:corrupt_entry` (cannot be decoded), `unserializable`, `invalid_dump_name` or another permanent storage failure.',
    prom: {
      name: 'antenna_spool_quarantined_total',
      kind: 'counter',
      help: 'Spool entries set aside in corrupt/ because they can never be moved, by reason.',
      labels: ['reason'],
    },
  },
  {
    name: 'collector.spool.refused.count',
    type: 'incr',
    tags: ['reason'],
    description: 'Spool mode: a crash was refused with 503; `reason:full`, `write_error` (e.g. disk full) or `draining`.',
    prom: { name: 'antenna_spool_refused_total', kind: 'counter', help: 'Crashes refused because they could not be spooled.', labels: ['reason'] },
  },
  {
    name: 'collector.spool.released.count',
    type: 'incr',
    tags: [],
    statsdFrom: 'primary',
    description:
      'Spool mode: crashes a worker had claimed, put back in `<spool>/ready/` for the other workers after it exited or was killed (logged with its pid); the node keeps running and moves them.',
  },
  {
    name: 'collector.spool.swept.count',
    type: 'incr',
    tags: [],
    statsdFrom: 'primary',
    description:
      'Spool mode: files a killed writer left in `<spool>/tmp/` (temporary entries, write probes) removed, at start-up or by a sweep (`CRASHMOVER_SPOOL_SWEEP_INTERVAL`). None of them had been acknowledged.',
  },
] as const satisfies readonly MetricSpec[];

const STORAGE_METRICS = [
  {
    name: 'collector.storage.swept.count',
    type: 'incr',
    tags: ['kind'],
    statsdFrom: 'primary',
    description:
      '`fs` storage: what interrupted saves left behind, removed by a sweep (`CRASHMOVER_CRASHSTORAGE_FS_SWEEP_INTERVAL`); `kind:tmp` = temporary files, `kind:orphan` = crashes whose dumps and dump_names were written but never their raw crash (never acknowledged).',
  },
] as const satisfies readonly MetricSpec[];

/** Every name a `Metrics` call may take: a name missing here, or misspelt, fails to compile. */
export type MetricName = (typeof COLLECTOR_METRICS | typeof SPOOL_METRICS | typeof STORAGE_METRICS)[number]['name'];

export const METRIC_CATALOG: readonly MetricSpec<MetricName>[] = [...COLLECTOR_METRICS, ...SPOOL_METRICS, ...STORAGE_METRICS];

export const METRICS_BY_NAME: ReadonlyMap<string, MetricSpec<MetricName>> = new Map(METRIC_CATALOG.map((m) => [m.name, m]));

/**
 * Metrics only Prometheus has, registered by src/worker/metrics/prometheus.ts
 * (per worker, summed by the primary unless labelled by `pid`) and
 * src/primary/prometheus.ts (the node's own); they have no StatsD name.
 * `labels` are the labels their registrations set.
 */
export const PROM_ONLY = {
  inFlight: { name: 'antenna_in_flight', kind: 'gauge', help: 'Crashes being saved right now, plus uploads being received (summed over workers).' },
  workerRestarts: { name: 'antenna_worker_restarts_total', kind: 'counter', help: 'Workers that died unexpectedly and were replaced.' },
  bodyBytesInMemory: {
    name: 'antenna_body_bytes_in_memory',
    kind: 'gauge',
    help: 'Request body bytes (after decompression) held by uploads being read or saved, counted against BREAKPAD_WORKER_MEMORY_BUDGET (summed over workers).',
  },
  eventLoopLag: { name: 'antenna_event_loop_lag_seconds', kind: 'gauge', labels: ['pid'], help: 'p99 event-loop delay per worker since the previous scrape.' },
  workers: { name: 'antenna_workers', kind: 'gauge', labels: ['state'], help: 'Workers of this node, by state.' },
  spoolCrashes: { name: 'antenna_spool_crashes', kind: 'gauge', help: 'Crashes in the spool (acknowledged, not yet saved and published).' },
  spoolBytes: { name: 'antenna_spool_bytes', kind: 'gauge', help: 'Bytes in the spool.' },
  spoolMaxBytes: { name: 'antenna_spool_max_bytes', kind: 'gauge', help: 'The spool limit (CRASHMOVER_SPOOL_MAX_BYTES).' },
  spoolOldest: { name: 'antenna_spool_oldest_age_seconds', kind: 'gauge', help: 'Age of the oldest crash in the spool.' },
} as const satisfies Record<string, PromMapping>;
