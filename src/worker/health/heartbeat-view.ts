import type { FleetMessage } from '../../shared/ipc';
import type { SaveFailure } from '../crashmover/save-health';
import type { SpoolSink } from '../spool/spool-sink';

/** `/__heartbeat__`: this worker's backend checks plus the fleet view from the primary. */
export function heartbeatView(
  errors: Array<{ name: string; msg: string }>,
  fleet: FleetMessage | undefined,
  spool?: { sink: SpoolSink; warnings: Array<{ name: string; msg: string }> },
  saves?: { storage: string; failure: SaveFailure },
) {
  const all = [...errors];
  if (saves) all.push(saveFailureError(saves.storage, saves.failure));
  if (fleet && fleet.workers.length > 0 && fleet.workers.every((w) => w.unresponsive)) {
    all.push({ name: 'Fleet', msg: 'no worker has reported to the primary in the last 3 heartbeat intervals' });
  }
  if (spool?.sink.isFull()) {
    all.push({ name: 'Spool', msg: 'the spool is full (CRASHMOVER_SPOOL_MAX_BYTES): new crashes are refused with 503' });
  }
  return {
    ...(spool && { spool: spoolHeartbeat(spool.sink, spool.warnings, fleet) }),
    errors: all,
    workers: (fleet?.workers ?? []).map(({ pid, save_queue_size, in_flight, last_report_ms, unresponsive }) => ({
      pid,
      save_queue_size,
      in_flight,
      last_report_ms,
      unresponsive,
    })),
    save_queue_size: fleet?.saveQueueSize ?? 0,
  };
}

/** Saves are failing (without a spool): the heartbeat says since when and why, so a balancer stops sending crashes. */
export function saveFailureError(storage: string, f: SaveFailure, now = Date.now()): { name: string; msg: string } {
  const seconds = Math.round((now - f.since) / 1000);
  return {
    name: storage,
    msg: `saves have been failing for ${seconds} s (${f.kind}, ${f.crashes} crashes): ${f.message}; new crashes get 503 with Retry-After until storage works again`,
  };
}

function spoolHeartbeat(sink: SpoolSink, warnings: Array<{ name: string; msg: string }>, fleet: FleetMessage | undefined) {
  const view = fleet?.spool;
  const outage = sink.outageSince;
  return {
    // null until the primary's first listing reaches this worker: 0 would tell a monitor a full spool is empty.
    crashes: view?.crashes ?? null,
    bytes: sink.usedBytes(),
    max_bytes: view?.maxBytes,
    oldest_age_seconds: view?.oldestSpooledAt === undefined ? 0 : Math.round((Date.now() - view.oldestSpooledAt) / 1000),
    storage_failing_seconds: outage === undefined ? undefined : Math.round((Date.now() - outage) / 1000),
    backends: warnings,
  };
}
