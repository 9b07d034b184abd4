/** Catalog entries of spool mode (store-and-forward). */
import type { MetricSpec } from './catalog-spec';

export const SPOOL_METRICS = [
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
