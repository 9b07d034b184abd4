/**
 * Crashes for the server-level tests against the cloud fakes: numbered crashes
 * whose stored bytes can be predicted from their number, a steady client that
 * posts them, and a check that a bucket holds exactly what was acknowledged.
 */
import { crashBody, crashIdFrom, crashParts, fakeDump, rawCrashKey } from './crashes';
import { get, post, type Answer } from './http';
import { sleep } from './wait';

/** The dumps of crash number `i`: a minidump of a size that varies with `i`, and every fifth crash a memory report too. */
export function numberedDumps(i: number): Record<string, Buffer> {
  const dumps: Record<string, Buffer> = { upload_file_minidump: fakeDump(1000 + ((i * 7919) % 20000), i + 1) };
  if (i % 5 === 0) dumps.memory_report = fakeDump(500 + (i % 300), i + 100000);
  return dumps;
}

export interface Sent {
  i: number;
  /** The answer, or the network error. */
  answer: Answer | { error: string };
}

/** Posts crash number `i` (annotation `Version` = `i`). */
export function submitNumbered(baseUrl: string, i: number): Promise<Sent> {
  const { body, contentType } = crashBody(crashParts({ ProductName: 'Test', Version: String(i) }, numberedDumps(i)));
  return post(`${baseUrl}/submit`, { headers: { 'Content-Type': contentType, 'Content-Length': body.length }, body }).then(
    (answer) => ({ i, answer }),
    (err: Error) => ({ i, answer: { error: err.message } }),
  );
}

/** Answers that were not `200 CrashID=…`, described. */
export function failures(sent: Sent[]): string[] {
  return sent
    .filter((s) => 'error' in s.answer || s.answer.status !== 200 || !/^CrashID=bp-/.test(s.answer.text))
    .map((s) => `#${s.i}: ${'error' in s.answer ? s.answer.error : `${s.answer.status} ${s.answer.text}`}`);
}

/** Crash ids by crash number, for answers that acknowledged one. */
export function acknowledged(sent: Sent[]): Map<number, string> {
  const ids = new Map<number, string>();
  for (const s of sent) if (!('error' in s.answer) && s.answer.status === 200) ids.set(s.i, crashIdFrom(s.answer.text));
  return ids;
}

/**
 * Posts numbered crashes one after another from `clients` concurrent clients,
 * each starting a crash at most every `intervalMs`, until `stop()` is true or
 * `maxTotal` crashes were sent. Bounded load, not a benchmark.
 */
export async function postSteadily(baseUrl: string, opts: { clients: number; intervalMs: number; maxTotal: number; stop: () => boolean }): Promise<Sent[]> {
  const sent: Sent[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: opts.clients }, async () => {
      while (!opts.stop() && next < opts.maxTotal) {
        const started = Date.now();
        sent.push(await submitNumbered(baseUrl, next++));
        await sleep(Math.max(0, opts.intervalMs - (Date.now() - started)));
      }
    }),
  );
  return sent;
}

/**
 * What is wrong with the crashes `ids` in a bucket, read through `read`
 * (undefined for a missing object): each must have its raw crash (for this id
 * and crash number), its dump_names and every dump, byte for byte. An empty
 * list means all of them are there.
 */
export async function bucketProblems(ids: Map<number, string>, read: (key: string) => Promise<Buffer | undefined> | Buffer | undefined): Promise<string[]> {
  const problems: string[] = [];
  for (const [i, id] of ids) {
    const raw = await read(rawCrashKey(id));
    if (!raw) {
      problems.push(`${id}: no raw crash`);
      continue;
    }
    const annotations = JSON.parse(raw.toString()) as { uuid?: string; Version?: string };
    if (annotations.uuid !== id || annotations.Version !== String(i)) problems.push(`${id}: raw crash of another crash (${raw.toString().slice(0, 200)})`);
    const dumps = numberedDumps(i);
    const names = Object.keys(dumps).sort();
    const storedNames = (await read(`v1/dump_names/${id}`))?.toString();
    if (storedNames !== JSON.stringify(names)) problems.push(`${id}: dump_names ${storedNames}, expected ${JSON.stringify(names)}`);
    for (const name of names) {
      const key = `v1/${name === 'upload_file_minidump' ? 'dump' : name}/${id}`;
      const data = await read(key);
      if (!data || !data.equals(dumps[name]!)) problems.push(`${key}: ${data ? `${data.length} different bytes` : 'missing'}`);
    }
  }
  return problems;
}

/** `/__heartbeat__`'s status and JSON. */
export async function heartbeat(baseUrl: string): Promise<{ status: number; body: HeartbeatBody }> {
  const a = await get(`${baseUrl}/__heartbeat__`);
  return { status: a.status, body: JSON.parse(a.text) as HeartbeatBody };
}

export interface HeartbeatBody {
  errors: Array<{ name: string; msg: string }>;
  spool?: { crashes: number; bytes: number; storage_failing_seconds?: number; backends: Array<{ name: string; msg: string }> };
}

/** Ids published more than once, and acknowledged ids never published. */
export function queueProblems(ids: Iterable<string>, published: string[]): string[] {
  const counts = new Map<string, number>();
  for (const p of published) counts.set(p, (counts.get(p) ?? 0) + 1);
  const problems: string[] = [];
  for (const id of ids) {
    const n = counts.get(id) ?? 0;
    if (n !== 1) problems.push(`${id} published ${n} times`);
  }
  return problems;
}
