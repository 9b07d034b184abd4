/** Waiting for a spool to drain, seen through /__heartbeat__. */
import { get } from '../../test/support/http';
import { poll } from './scenario';

/** Crashes waiting in the node's spool, or undefined when the heartbeat does not answer. */
export async function spooled(port: number): Promise<number | undefined> {
  try {
    const a = await get(`http://127.0.0.1:${port}/__heartbeat__`, { timeoutMs: 5000 });
    return (JSON.parse(a.text) as { spool?: { crashes: number } }).spool?.crashes;
  } catch {
    return undefined;
  }
}

export function waitForEmptySpool(port: number, timeoutMs: number): Promise<boolean> {
  return poll(async () => (await spooled(port)) === 0, timeoutMs, 500);
}
