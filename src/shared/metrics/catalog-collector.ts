/** Catalog entries of the HTTP side: connections, Sentry, `POST /submit` (breakpad_resource) and the Dockerflow endpoints. */
import { BYTES, SECONDS, type MetricSpec } from './catalog-spec';

export const COLLECTOR_METRICS = [
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
] as const satisfies readonly MetricSpec[];

export const HEALTH_METRICS = [
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
