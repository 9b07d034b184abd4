/** What the cluster tests share: the fleet view of /__heartbeat__, polling, and submitting crashes to a running server. */
import { readFileSync } from 'node:fs';
import { crashBody, crashIdFrom, crashParts, fakeDump, rawCrashKey, readStored } from './crashes';
import { get, post, type Answer } from './http';
import type { RunningServer } from './server';

export interface FleetView {
  errors: string[];
  workers: Array<{ pid: number; save_queue_size: number; in_flight: number; last_report_ms: number; unresponsive: boolean }>;
  save_queue_size: number;
}

export type Outcome = Answer | { error: string };
export const settle = (p: Promise<Answer>): Promise<Outcome> => p.catch((e: Error) => ({ error: e.message }));
export const isAnswer = (o: Outcome): o is Answer => !('error' in o);

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function fleet(server: RunningServer): Promise<FleetView> {
  return JSON.parse((await get(`${server.url}/__heartbeat__`)).text) as FleetView;
}

export async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 20000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

/** The pids of the fleet once it has `count` workers. */
export function workerPids(server: RunningServer, count: number): Promise<number[]> {
  return waitFor(`${count} workers`, async () => {
    const v = await fleet(server);
    return v.workers.length === count ? v.workers.map((w) => w.pid) : undefined;
  });
}

/** Whether `pid` is a live process (not gone, not a zombie waiting for its parent). */
export function running(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** Runs `fn` while process `pid` is stopped (SIGSTOP), and lets it go on afterwards. */
export async function whileStopped<T>(pid: number, fn: () => Promise<T>): Promise<T> {
  process.kill(pid, 'SIGSTOP');
  try {
    return await fn();
  } finally {
    process.kill(pid, 'SIGCONT');
  }
}

export function smallCrash(i: number) {
  return crashBody(crashParts({ ProductName: 'Test', Version: String(i) }, { upload_file_minidump: fakeDump(4000, i) }));
}

export function submit(server: RunningServer, crash: { body: Buffer; contentType: string }, chunked?: { size: number; delayMs: number }) {
  const headers = { 'Content-Type': crash.contentType, 'Content-Length': crash.body.length };
  if (!chunked) return post(`${server.url}/submit`, { headers, body: crash.body });
  const chunks: Buffer[] = [];
  for (let o = 0; o < crash.body.length; o += chunked.size) chunks.push(crash.body.subarray(o, o + chunked.size));
  return post(`${server.url}/submit`, { headers, body: chunks, chunkDelayMs: chunked.delayMs });
}

/** Every CrashID a client got must be complete in storage. */
export function expectAllStored(server: RunningServer, answers: Answer[]): number {
  let ids = 0;
  for (const a of answers) {
    if (a.status !== 200 || !a.text.startsWith('CrashID=')) continue;
    const id = crashIdFrom(a.text);
    expect(readStored(server.fsRoot, rawCrashKey(id)).length).toBeGreaterThan(0);
    expect(readStored(server.fsRoot, `v1/dump/${id}`).length).toBeGreaterThan(0);
    ids++;
  }
  return ids;
}
