import { randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { GzipBody } from '../../../src/worker/breakpad/gzip-body';

/** What a GzipBody handed its sink, and how it ended. */
class Recorder {
  chunks: Buffer[] = [];
  ends = 0;
  fails = 0;
  /** Bytes the sink takes per turn before it says "enough" (Infinity: all). */
  constructor(private readonly perTurn = Infinity) {}
  private turn = 0;
  readonly sink = {
    inflated: (chunk: Buffer) => {
      this.chunks.push(Buffer.from(chunk));
      this.turn += chunk.length;
      return this.turn < this.perTurn;
    },
    end: () => this.ends++,
    fail: () => this.fails++,
  };
  newTurn(): void {
    this.turn = 0;
  }
  get bytes(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

/** Writes `wire` in `pieces` like read-payload does (waiting whenever write says so), then ends it. */
async function feed(body: GzipBody, wire: Buffer, pieces: number): Promise<void> {
  const size = Math.ceil(wire.length / pieces);
  for (let at = 0; at < wire.length; at += size) {
    if (!body.write(wire.subarray(at, at + size))) await new Promise<void>((resume) => body.onceDrained(resume));
  }
  body.end();
}

const settled = () => new Promise((r) => setTimeout(r, 20));

describe.each([
  ['on the event loop', true],
  ['through a gunzip stream', false],
])('GzipBody %s', (_name, onLoop) => {
  const plain = Buffer.concat([randomBytes(150_000), Buffer.alloc(300_000), randomBytes(50_000)]);
  const wire = gzipSync(plain);

  it('hands on the inflated bytes in order and ends once', async () => {
    for (const pieces of [1, 9]) {
      const rec = new Recorder();
      await feed(new GzipBody(rec.sink, { nextTurn: setImmediate, onLoop }), wire, pieces);
      await settled();
      expect([rec.bytes.equals(plain), rec.ends, rec.fails]).toEqual([true, 1, 0]);
    }
  });

  it('waits for the next turn when the sink has had enough for this one, and loses nothing', async () => {
    const rec = new Recorder(100_000);
    let turns = 0;
    const nextTurn = (fn: () => void) =>
      setImmediate(() => {
        turns++;
        rec.newTurn();
        fn();
      });
    await feed(new GzipBody(rec.sink, { nextTurn, onLoop }), wire, 1);
    await settled();
    expect([rec.bytes.equals(plain), rec.ends, rec.fails]).toEqual([true, 1, 0]);
    expect(turns).toBeGreaterThanOrEqual(3);
  });

  it('calls fail once for bytes that are not gzip, and never end', async () => {
    const rec = new Recorder();
    const body = new GzipBody(rec.sink, { nextTurn: setImmediate, onLoop });
    // Once it has failed, nothing waits for it to drain: write and end without waiting.
    body.write(Buffer.from('not gzip, '));
    body.write(Buffer.from('not at all'));
    body.end();
    await settled();
    expect([rec.ends, rec.fails]).toEqual([0, 1]);
  });

  it('hands on nothing more once destroyed', async () => {
    const rec = new Recorder(64 * 1024);
    const body = new GzipBody(rec.sink, { nextTurn: setImmediate, onLoop });
    body.write(wire);
    const seen = rec.chunks.length;
    body.destroy();
    body.end();
    await settled();
    expect([rec.chunks.length, rec.ends, rec.fails]).toEqual([seen, 0, 0]);
  });
});
