/**
 * Waiting for a spool to drain. The spool directory on disk is the truth
 * (entries waiting in ready/ or claimed/<pid>/); /__heartbeat__'s
 * `spool.crashes` is compared with it, since monitoring relies on it too.
 */
import { storedFiles } from '../../test/support/crashes';
import { get } from '../../test/support/http';
import { sleep } from './scenario';

/** Crashes waiting in the node's spool according to /__heartbeat__, or undefined when it does not answer. */
export async function spooled(port: number): Promise<number | undefined> {
  try {
    const a = await get(`http://127.0.0.1:${port}/__heartbeat__`, { timeoutMs: 5000 });
    return (JSON.parse(a.text) as { spool?: { crashes: number } }).spool?.crashes;
  } catch {
    return undefined;
  }
}

/** Entries on disk still to be moved (ready/ and claimed/, `.saved` ones included). */
export function spoolEntries(spoolDir: string): number {
  return storedFiles(spoolDir).filter((f) => /^(ready|claimed)\//.test(f)).length;
}

export interface Drain {
  drained: boolean;
  /** Set when /__heartbeat__ said `crashes: 0` while this many entries were still on disk. */
  heartbeatSaidEmptyWith?: number;
}

/** Polls until no entry is left on disk (checked twice, 1 s apart) or `timeoutMs`. */
export async function waitForDrain(port: number, spoolDir: string, timeoutMs: number): Promise<Drain> {
  const result: Drain = { drained: false };
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    const entries = spoolEntries(spoolDir);
    const said = await spooled(port);
    if (said === 0 && entries > 0) result.heartbeatSaidEmptyWith = Math.max(result.heartbeatSaidEmptyWith ?? 0, entries);
    if (entries === 0) {
      await sleep(1000);
      if (spoolEntries(spoolDir) === 0) return { ...result, drained: true };
    }
    await sleep(500);
  }
  return result;
}

/** The report's lines about a drain. */
export function drainFindings(d: Drain, timeoutS: number): { failures: string[]; notes: string[] } {
  return {
    failures: d.drained ? [] : [`the spool did not drain within ${timeoutS} s`],
    notes: d.heartbeatSaidEmptyWith
      ? [`/__heartbeat__ said spool.crashes = 0 while ${d.heartbeatSaidEmptyWith} entries were still on disk (before the primary's first listing?)`]
      : [],
  };
}
