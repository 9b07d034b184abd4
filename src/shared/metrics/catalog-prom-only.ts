import type { PromMapping } from './catalog-spec';

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
