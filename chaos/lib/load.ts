/** Bounded load: well-formed crashes (corpus `loadCrash`) from concurrent clients. */
import { loadCrash } from './corpus';
import type { Tally } from './tally';
import { exchange } from './wire';

export interface LoadOptions {
  clients: number;
  /** Stops starting new crashes once true. */
  stop: () => boolean;
  /** Never more than this many crashes in all. */
  maxTotal: number;
  /** Pause between a client's crashes, ms. */
  gapMs?: number;
}

/** Posts crashes `load#0`, `load#1`, … of `seed` until `stop()`; resolves when every client has its last answer. */
export async function submitLoad(port: number, seed: number, tally: Tally, opts: LoadOptions): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: opts.clients }, async () => {
      while (!opts.stop() && next < opts.maxTotal) {
        const i = next++;
        const answer = await exchange(port, loadCrash(seed, i).request, 30000);
        tally.record(answer, `load#${i}`);
        if (opts.gapMs) await new Promise((r) => setTimeout(r, opts.gapMs));
        else if (answer.status === 0) await new Promise((r) => setTimeout(r, 50)); // node down: do not spin
      }
    }),
  );
}

export const loadExpect = (seed: number) => (label: string) => loadCrash(seed, Number(label.slice('load#'.length))).expect;
