/** Catalog entries of saving and publishing crashes (crashmover) and of `fs` storage upkeep. */
import { SECONDS, type MetricSpec } from './catalog-spec';

export const CRASHMOVER_METRICS = [
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
] as const satisfies readonly MetricSpec[];

export const STORAGE_METRICS = [
  {
    name: 'collector.storage.swept.count',
    type: 'incr',
    tags: ['kind'],
    statsdFrom: 'primary',
    description:
      '`fs` storage: what interrupted saves left behind, removed by a sweep (`CRASHMOVER_CRASHSTORAGE_FS_SWEEP_INTERVAL`); `kind:tmp` = temporary files, `kind:orphan` = crashes whose dumps and dump_names were written but never their raw crash (never acknowledged).',
  },
] as const satisfies readonly MetricSpec[];
