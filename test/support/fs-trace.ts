/**
 * Records the calls the code under test makes into `node:fs/promises` (open,
 * then each FileHandle's writes, syncs and close; rename; unlink), and those
 * durable-file's inline path makes into `node:fs` (an exclusive `openSync`
 * with 'wx', then that descriptor's `writevSync`, `fsync` and `closeSync`,
 * recorded as open, writev, sync and close), so a test can check the order
 * that makes a file durable, and fails or holds chosen calls (a hold on a
 * synchronous call is not possible: only the inline fsync can be held).
 *
 * It works by replacing the module object's functions: ts-jest compiles
 * `import { open } from 'node:fs/promises'` to `promises_1.open(...)`, a
 * property read at each call, and Jest hands node's own module object to the
 * code under test. Call `install()` in a test (or beforeEach) and `restore()`
 * afterwards.
 */
import fsp from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import fs, { fstatSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { tempDir } from './server';

export type TracedOp = 'open' | 'write' | 'writev' | 'writeFile' | 'sync' | 'datasync' | 'close' | 'rename' | 'unlink';

export interface TracedCall {
  op: TracedOp;
  /** open/unlink/rename: the path given; a handle's call: the path it was opened with. */
  path: string;
  /** rename: the new name. */
  to?: string;
  /** open: the flags. */
  flags?: string;
  /** open: the inode it opened (to tell a directory from one that replaced it under the same name). */
  ino?: number;
  /** A handle's call, and the open that made it: which handle (1, 2, …). */
  handle?: number;
  /** Position in the trace when the call was made and when it settled (one counter for both). */
  start: number;
  end?: number;
  /** The call failed (for real or injected). */
  error?: string;
  /** Made through durable-file's inline path (`node:fs`), not `node:fs/promises`. */
  inline?: true;
}

/** What a fault or hold sees of a call about to be made. */
export type CallMatcher = (call: Pick<TracedCall, 'op' | 'path' | 'to' | 'flags'>) => boolean;

const HANDLE_OPS = ['write', 'writev', 'writeFile', 'sync', 'datasync', 'close'] as const;

export class FsTrace {
  readonly calls: TracedCall[] = [];
  private seq = 0;
  private handles = 0;
  private readonly faults: Array<{ match: CallMatcher; code: string; left: number }> = [];
  private readonly holds: Array<{ match: CallMatcher; released: Promise<void> }> = [];
  private spies: jest.SpyInstance[] = [];
  /** Descriptors opened by a traced `openSync`, until their `closeSync`. */
  private readonly inlineFds = new Map<number, { path: string; handle: number; inline: true }>();

  /** A point in the trace (e.g. when save() resolved), comparable with calls' start/end. */
  mark(): number {
    return ++this.seq;
  }

  /** The next `n` matching calls fail with an errno error (`code`, e.g. 'EIO') instead of being made. */
  fail(match: CallMatcher, code = 'EIO', n = 1): void {
    this.faults.push({ match, code, left: n });
  }

  /** Matching calls wait (after being recorded as started) until the returned function is called. */
  hold(match: CallMatcher): () => void {
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    this.holds.push({ match, released });
    return release;
  }

  install(): this {
    const mod = fsp as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
    const realOpen = mod.open!.bind(fsp);
    const realRename = mod.rename!.bind(fsp);
    const realUnlink = mod.unlink!.bind(fsp);
    this.spies = [
      jest.spyOn(fsp, 'open').mockImplementation((async (file: unknown, flags?: unknown, mode?: unknown) => {
        const handle = ++this.handles;
        const fh = (await this.run({ op: 'open', path: String(file), flags: String(flags ?? 'r'), handle }, () => realOpen(file, flags, mode))) as FileHandle;
        this.calls.find((c) => c.op === 'open' && c.handle === handle)!.ino = (await fh.stat()).ino;
        this.wrapHandle(fh, String(file), handle);
        return fh;
      }) as typeof fsp.open),
      jest
        .spyOn(fsp, 'rename')
        .mockImplementation(((from: unknown, to: unknown) =>
          this.run({ op: 'rename', path: String(from), to: String(to) }, () => realRename(from, to))) as typeof fsp.rename),
      jest
        .spyOn(fsp, 'unlink')
        .mockImplementation(((file: unknown) => this.run({ op: 'unlink', path: String(file) }, () => realUnlink(file))) as typeof fsp.unlink),
      ...this.installInline(),
    ];
    return this;
  }

  /** The `node:fs` calls of durable-file's inline path, on descriptors it created exclusively; any other call passes through unrecorded. */
  private installInline(): jest.SpyInstance[] {
    const real = { openSync: fs.openSync, writevSync: fs.writevSync, fsync: fs.fsync, closeSync: fs.closeSync };
    const traced = (fd: number) => this.inlineFds.get(fd);
    return [
      jest.spyOn(fs, 'openSync').mockImplementation(((file: fs.PathLike, flags?: fs.OpenMode, mode?: fs.Mode) => {
        if (flags !== 'wx') return real.openSync(file, flags ?? 'r', mode);
        const handle = ++this.handles;
        const call = { op: 'open' as const, path: String(file), flags, handle, inline: true as const };
        const fd = this.runSync(call, () => real.openSync(file, flags, mode));
        this.calls.find((c) => c.op === 'open' && c.handle === handle)!.ino = fstatSync(fd).ino;
        this.inlineFds.set(fd, { path: String(file), handle, inline: true });
        return fd;
      }) as typeof fs.openSync),
      jest.spyOn(fs, 'writevSync').mockImplementation(((fd: number, buffers: NodeJS.ArrayBufferView[], position?: number) => {
        const h = traced(fd);
        return h ? this.runSync({ op: 'writev', ...h }, () => real.writevSync(fd, buffers, position)) : real.writevSync(fd, buffers, position);
      }) as typeof fs.writevSync),
      jest.spyOn(fs, 'fsync').mockImplementation(((fd: number, callback: fs.NoParamCallback) => {
        const h = traced(fd);
        if (!h) return real.fsync(fd, callback);
        this.run({ op: 'sync', ...h }, () => new Promise<void>((resolve, reject) => real.fsync(fd, (err) => (err ? reject(err) : resolve())))).then(
          () => callback(null),
          callback,
        );
      }) as typeof fs.fsync),
      jest.spyOn(fs, 'closeSync').mockImplementation(((fd: number) => {
        const h = traced(fd);
        if (!h) return real.closeSync(fd);
        this.inlineFds.delete(fd);
        this.runSync({ op: 'close', ...h }, () => real.closeSync(fd));
      }) as typeof fs.closeSync),
    ];
  }

  restore(): void {
    for (const s of this.spies) s.mockRestore();
    this.spies = [];
  }

  /** Successful calls of one kind, optionally filtered. */
  ok(op: TracedOp, where: (c: TracedCall) => boolean = () => true): TracedCall[] {
    return this.calls.filter((c) => c.op === op && c.end !== undefined && c.error === undefined && where(c));
  }

  /** Calls made on the handle an open returned. */
  onHandle(handle: number, op?: TracedOp): TracedCall[] {
    return this.calls.filter((c) => c.handle === handle && c.op !== 'open' && (op === undefined || c.op === op));
  }

  /** The trace, one line per call, for failure messages. */
  describe(): string {
    return this.calls
      .map((c) => `${c.start}-${c.end ?? '…'} ${c.op}${c.handle ? `#${c.handle}` : ''} ${c.path}${c.to ? ` -> ${c.to}` : ''}${c.error ? ` !${c.error}` : ''}`)
      .join('\n');
  }

  private wrapHandle(fh: FileHandle, file: string, handle: number): void {
    const methods = fh as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
    for (const op of HANDLE_OPS) {
      const real = methods[op]!.bind(fh);
      methods[op] = (...args: unknown[]) => this.run({ op, path: file, handle }, () => real(...args));
    }
  }

  /** A synchronous call: recorded and maybe failed like any other, but never held. */
  private runSync<T>(call: Omit<TracedCall, 'start'>, real: () => T): T {
    const entry = this.begin(call);
    try {
      this.injectFault(entry);
      const result = real();
      entry.end = ++this.seq;
      return result;
    } catch (err) {
      throw this.failed(entry, err);
    }
  }

  private async run<T>(call: Omit<TracedCall, 'start'>, real: () => Promise<T>): Promise<T> {
    const entry = this.begin(call);
    try {
      for (const h of this.holds) if (h.match(entry)) await h.released;
      this.injectFault(entry);
      const result = await real();
      entry.end = ++this.seq;
      return result;
    } catch (err) {
      throw this.failed(entry, err);
    }
  }

  /** Records a call as started. */
  private begin(call: Omit<TracedCall, 'start'>): TracedCall {
    const entry: TracedCall = { ...call, start: ++this.seq };
    this.calls.push(entry);
    return entry;
  }

  /** Records a call as failed with `err`, and returns `err` to be thrown. */
  private failed(entry: TracedCall, err: unknown): unknown {
    entry.end = ++this.seq;
    entry.error = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    return err;
  }

  /** Throws the fault a test set for this call, if any. */
  private injectFault(entry: TracedCall): void {
    const fault = this.faults.find((f) => f.left > 0 && f.match(entry));
    if (fault) {
      fault.left--;
      throw Object.assign(new Error(`${fault.code}: injected by the test, ${entry.op} '${entry.path}'`), { code: fault.code });
    }
  }
}

export interface DurableWrite {
  /** The temporary file's open, its last write, its fsync, the rename to the final name, and the first fsync of the final name's directory after it. */
  open: TracedCall;
  lastWrite: TracedCall;
  fsync: TracedCall;
  rename: TracedCall;
  dirSync: TracedCall;
}

/**
 * Finds how `target` came to be, and throws (with the trace) unless it was:
 * written under another name, that file fsynced after its last write, then
 * renamed to `target`, then `target`'s directory fsynced by a sync that started
 * after the rename had finished; every step finished before `answer`.
 */
export function durableWrite(trace: FsTrace, target: string, answer: number): DurableWrite {
  const fail = (why: string): never => {
    throw new Error(`${target} was not written durably before the answer (${answer}): ${why}\ntrace:\n${trace.describe()}`);
  };
  const renames = trace.ok('rename', (c) => c.to === target);
  if (renames.length !== 1) fail(`${renames.length} successful renames to it, expected 1`);
  const rename = renames[0]!;
  const tmp = rename.path;
  if (path.resolve(tmp) === path.resolve(target)) fail('renamed onto itself');
  const open = trace.ok('open', (c) => c.path === tmp && c.flags === 'wx')[0] ?? fail(`no open of ${tmp} with 'wx'`);
  const writes = trace.onHandle(open.handle!).filter((c) => c.op === 'write' || c.op === 'writev' || c.op === 'writeFile');
  if (writes.length === 0) fail(`nothing written to ${tmp}`);
  if (writes.some((w) => w.error !== undefined || w.end === undefined)) fail(`a write to ${tmp} failed or never finished`);
  const lastWrite = writes.reduce((a, b) => (b.end! > a.end! ? b : a));
  const fsync =
    trace
      .onHandle(open.handle!)
      .find((c) => (c.op === 'sync' || c.op === 'datasync') && c.error === undefined && c.end !== undefined && c.start > lastWrite.end!) ??
    fail(`${tmp} was not fsynced after its last write`);
  if (!(fsync.end! < rename.start)) fail(`${tmp} was renamed (${rename.start}) before its fsync finished (${fsync.end})`);
  const dir = path.dirname(target);
  const dirSync = dirSyncAfter(trace, dir, rename.end!, 'the rename', answer, fail);
  return { open, lastWrite, fsync, rename, dirSync };
}

/**
 * The first-finishing fsync of `dir` that started after `after` (when `step`
 * finished) and finished before `answer`: of the directory the name is in now,
 * not one it replaced (a handle kept open on a removed directory syncs nothing
 * useful).
 */
function dirSyncAfter(trace: FsTrace, dir: string, after: number, step: string, answer: number, fail: (why: string) => never): TracedCall {
  const dirIno = statSync(dir).ino;
  const inoOf = (handle: number | undefined) => trace.calls.find((c) => c.op === 'open' && c.handle === handle)?.ino;
  const dirSyncs = trace.ok('sync', (c) => c.path === dir && c.start > after && inoOf(c.handle) === dirIno);
  if (dirSyncs.length === 0) fail(`no fsync of ${dir} (inode ${dirIno}) started after ${step} finished (${after})`);
  const dirSync = dirSyncs.reduce((a, b) => (b.end! < a.end! ? b : a));
  if (!(dirSync.end! < answer)) fail(`the fsync of ${dir} finished (${dirSync.end}) after the answer`);
  return dirSync;
}

export interface DurableCreate {
  /** The exclusive create of the final name, its last write, its fsync, and the first fsync of its directory started after the create. */
  open: TracedCall;
  lastWrite: TracedCall;
  fsync: TracedCall;
  dirSync: TracedCall;
}

/**
 * Finds how `target` came to be, and throws (with the trace) unless it was:
 * created under its own name (exclusively: 'wx'), never written under another
 * name nor renamed to, fsynced after its last write, and its directory fsynced
 * by a sync that started after the create had finished (the new entry); every
 * step finished before `answer`. Only calls started after `since` count
 * (a retry's, when an earlier attempt made the same calls).
 */
export function durableCreate(trace: FsTrace, target: string, answer: number, since = 0): DurableCreate {
  const fail = (why: string): never => {
    throw new Error(`${target} was not created durably in place before the answer (${answer}): ${why}\ntrace:\n${trace.describe()}`);
  };
  const renames = trace.calls.filter((c) => c.op === 'rename' && c.to === target && c.start > since);
  if (renames.length > 0) fail(`renamed to from ${renames[0]!.path}, expected to be written under its own name`);
  const dir = path.dirname(target);
  const tmpPrefix = `.${path.basename(target)}.`;
  const tmpOpen = trace.calls.find((c) => c.op === 'open' && c.start > since && path.dirname(c.path) === dir && path.basename(c.path).startsWith(tmpPrefix));
  if (tmpOpen) fail(`written under the temporary name ${tmpOpen.path}`);
  const opens = trace.ok('open', (c) => c.path === target && c.flags === 'wx' && c.start > since);
  if (opens.length !== 1) fail(`${opens.length} successful creates ('wx') of it, expected 1`);
  const open = opens[0]!;
  const writes = trace.onHandle(open.handle!).filter((c) => c.op === 'write' || c.op === 'writev' || c.op === 'writeFile');
  if (writes.length === 0) fail('nothing written to it');
  if (writes.some((w) => w.error !== undefined || w.end === undefined)) fail('a write to it failed or never finished');
  const lastWrite = writes.reduce((a, b) => (b.end! > a.end! ? b : a));
  const fsync =
    trace
      .onHandle(open.handle!)
      .find((c) => (c.op === 'sync' || c.op === 'datasync') && c.error === undefined && c.end !== undefined && c.start > lastWrite.end!) ??
    fail('not fsynced after its last write');
  if (!(fsync.end! < answer)) fail(`its fsync finished (${fsync.end}) after the answer`);
  const dirSync = dirSyncAfter(trace, dir, open.end!, 'the create', answer, fail);
  return { open, lastWrite, fsync, dirSync };
}

/**
 * Before each test, a fresh temporary root and an installed FsTrace, handed to
 * `use`; after it, the trace is restored and the root removed.
 */
export function tracedRootEachTest(use: (root: string, trace: FsTrace) => void): void {
  let root = '';
  let trace: FsTrace | undefined;
  beforeEach(() => {
    root = tempDir();
    trace = new FsTrace().install();
    use(root, trace);
  });
  afterEach(() => {
    trace?.restore();
    rmSync(root, { recursive: true, force: true });
  });
}
