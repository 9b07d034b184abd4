import type { IncomingMessage } from 'node:http';
import { PassThrough } from 'node:stream';

/** A stand-in for IncomingMessage that streams `chunks` (then ends, unless `hang`). */
export function fakeRequest(chunks: Buffer[], opts: { hang?: boolean; delayMs?: number } = {}): IncomingMessage {
  const stream = new PassThrough() as PassThrough & { complete: boolean };
  stream.complete = false;
  stream.on('end', () => (stream.complete = true));
  void (async () => {
    for (const c of chunks) {
      if (opts.delayMs) await new Promise((r) => setTimeout(r, opts.delayMs));
      stream.write(c);
    }
    if (!opts.hang) stream.end();
  })();
  return stream as unknown as IncomingMessage;
}
