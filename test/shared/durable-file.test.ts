/**
 * src/shared/durable-file.ts on its own: what ends up on disk (and what does
 * not) when a write is short, makes no progress, or its rename fails, and how
 * DirSyncer shares and limits directory handles.
 */
import fsp, { type FileHandle } from 'node:fs/promises';
import fs, { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { DirSyncer } from '../../src/shared/dir-syncer';
import { createFileDurably, fsyncDir, isTempFileName, prepareFile, tempFileName, writeFileDurably } from '../../src/shared/durable-file';
import { FsTrace } from '../support/fs-trace';
import { tempDir } from '../support/server';
import { sleep, waitFor } from '../support/wait';

let dir: string;
const spies: jest.SpyInstance[] = [];

beforeEach(() => {
  dir = tempDir('durable-file-');
});
afterEach(() => {
  for (const s of spies.splice(0)) s.mockRestore();
  rmSync(dir, { recursive: true, force: true });
});

/** Every file handle opened from now on has its writev replaced by `writev(real)`. */
function wrapWritev(writev: (real: FileHandle['writev'], buffers: Buffer[]) => Promise<{ bytesWritten: number; buffers: Buffer[] }>) {
  const realOpen = fsp.open.bind(fsp);
  spies.push(
    jest.spyOn(fsp, 'open').mockImplementation((async (...args: Parameters<typeof fsp.open>) => {
      const fh = await realOpen(...args);
      const real = fh.writev.bind(fh);
      (fh as unknown as { writev: unknown }).writev = (buffers: Buffer[]) => writev(real, buffers);
      return fh;
    }) as typeof fsp.open),
  );
}

describe('temporary names', () => {
  it('are hidden, name the target, end in 12 hex digits and .tmp, and differ each time', () => {
    const a = tempFileName('/srv/crashes/v1/raw_crash/x.json');
    expect(a).toMatch(/^\.x\.json\.[0-9a-f]{12}\.tmp$/);
    expect(tempFileName('x.json')).not.toBe(a);
    expect(isTempFileName(a)).toBe(true);
    for (const other of [
      'x.json',
      '.x.json.tmp',
      '.x.json.0123456789ab.tmp.bak',
      'a.0123456789ab.tmp',
      '.x.0123456789AB.tmp',
      '..0123456789ab.tmp',
      'x.json.0123456789ab.tmp',
    ]) {
      expect([other, isTempFileName(other)]).toEqual([other, false]);
    }
  });
});

describe('prepareFile / writeFileDurably', () => {
  it('writes every part, skipping empty ones, even when the disk takes a few bytes at a time', async () => {
    const sizes: number[][] = [];
    wrapWritev(async (real, buffers) => {
      sizes.push(buffers.map((b) => b.length));
      const first = buffers[0]!;
      // A short write that ends inside the first buffer.
      return real([first.subarray(0, Math.min(3, first.length))]);
    });
    const target = path.join(dir, 'out.bin');
    await writeFileDurably(target, [Buffer.from('hello'), Buffer.alloc(0), Buffer.from('world!')]);
    expect(readFileSync(target, 'utf8')).toBe('helloworld!');
    expect(sizes[0]).toEqual([5, 6]); // the empty part never reaches writev
    expect(sizes[1]).toEqual([2, 6]); // the rest of the first part, from where the short write stopped
    expect(readdirSync(dir)).toEqual(['out.bin']);
  });

  it('continues with the next part when a write ends exactly at a part boundary', async () => {
    const seen: string[][] = [];
    wrapWritev(async (real, buffers) => {
      seen.push(buffers.map((b) => b.toString()));
      return real(buffers.slice(0, 1));
    });
    const target = path.join(dir, 'out.bin');
    await writeFileDurably(target, [Buffer.from('ab'), Buffer.from('cd'), Buffer.from('ef')]);
    expect(readFileSync(target, 'utf8')).toBe('abcdef');
    expect(seen).toEqual([['ab', 'cd', 'ef'], ['cd', 'ef'], ['ef']]);
  });

  it('fails with EIO, and leaves no file, when a write makes no progress', async () => {
    wrapWritev(async (_real, buffers) => ({ bytesWritten: 0, buffers }));
    const target = path.join(dir, 'out.bin');
    await expect(writeFileDurably(target, Buffer.from('data'))).rejects.toEqual(expect.objectContaining({ code: 'EIO', message: 'write made no progress' }));
    expect(readdirSync(dir)).toEqual([]);
  });

  it('writes under a temporary name in tmpDir, readable by others, and renames on commit', async () => {
    const tmpDir = path.join(dir, 'tmp');
    mkdirSync(tmpDir);
    const target = path.join(dir, 'final.json');
    const prepared = await prepareFile(target, Buffer.from('{}'), tmpDir);
    const [tmp] = readdirSync(tmpDir);
    expect(isTempFileName(tmp!)).toBe(true);
    expect(tmp!.startsWith('.final.json.')).toBe(true);
    expect(statSync(path.join(tmpDir, tmp!)).mode & 0o777).toBe(0o644 & ~process.umask());
    expect(readdirSync(dir).sort()).toEqual(['tmp']);
    await prepared.commit();
    expect(readFileSync(target, 'utf8')).toBe('{}');
    expect(readdirSync(tmpDir)).toEqual([]);
  });

  it('discard removes the temporary file; a failed rename removes it too and rethrows', async () => {
    const target = path.join(dir, 'final.json');
    const prepared = await prepareFile(target, Buffer.from('x'));
    await prepared.discard();
    expect(readdirSync(dir)).toEqual([]);

    const doomed = await prepareFile(path.join(dir, 'gone', 'final.json'), Buffer.from('x'), dir);
    await expect(doomed.commit()).rejects.toEqual(expect.objectContaining({ code: 'ENOENT' }));
    expect(readdirSync(dir)).toEqual([]);
  });

  it("refuses to reuse a temporary name that exists (never writes into another writer's file)", async () => {
    const trace = new FsTrace().install();
    try {
      await writeFileDurably(path.join(dir, 'a'), Buffer.from('x'));
    } finally {
      trace.restore();
    }
    expect(trace.calls.find((c) => c.op === 'open')!.flags).toBe('wx');
    expect(trace.calls.filter((c) => c.op === 'sync')).toHaveLength(1);
  });

  it('fsyncDir opens, syncs and closes the directory', async () => {
    const trace = new FsTrace().install();
    try {
      await fsyncDir(dir);
    } finally {
      trace.restore();
    }
    expect(trace.calls.map((c) => `${c.op} ${c.path}`)).toEqual([`open ${dir}`, `sync ${dir}`, `close ${dir}`]);
  });
});

describe('createFileDurably', () => {
  it('creates the file under its own name (exclusively), writes every part, and fsyncs it after the last write, before closing', async () => {
    const target = path.join(dir, 'dump');
    const trace = new FsTrace().install();
    try {
      await createFileDurably(target, [Buffer.from('MDMP'), Buffer.from('...')]);
    } finally {
      trace.restore();
    }
    expect(readFileSync(target, 'utf8')).toBe('MDMP...');
    expect(statSync(target).mode & 0o777).toBe(0o644 & ~process.umask());
    expect(readdirSync(dir)).toEqual(['dump']);
    expect(trace.calls.map((c) => [c.op, c.path, c.flags])).toEqual([
      ['open', target, 'wx'],
      ['writev', target, undefined],
      ['sync', target, undefined],
      ['close', target, undefined],
    ]);
  });

  it('fails with EEXIST, and leaves the file as it was, when the target exists (never truncates one that may be read)', async () => {
    const target = path.join(dir, 'dump');
    writeFileSync(target, 'complete');
    await expect(createFileDurably(target, Buffer.from('x'))).rejects.toEqual(expect.objectContaining({ code: 'EEXIST' }));
    expect(readFileSync(target, 'utf8')).toBe('complete');
  });

  it('runs onCreated once the file has its name, beside the write and fsync, and resolves only when both are done', async () => {
    const target = path.join(dir, 'dump');
    let release!: () => void;
    let sawName = false;
    let settled = false;
    const created = createFileDurably(target, Buffer.from('data'), {
      onCreated: () => {
        sawName = readdirSync(dir).includes('dump');
        return new Promise<void>((r) => (release = r));
      },
    }).then(() => (settled = true));
    // Not there at all until the create has run (the thread pool may be slow to get to it).
    await waitFor('the file to be written', () => existsSync(target) && readFileSync(target, 'utf8') === 'data', 20_000, 5);
    expect(sawName).toBe(true);
    await sleep(50);
    expect(settled).toBe(false);
    release();
    await created;
  });

  it('removes the file it created when onCreated fails (the directory fsync), and rethrows', async () => {
    const target = path.join(dir, 'dump');
    const eio = Object.assign(new Error('EIO: fsync'), { code: 'EIO' });
    await expect(createFileDurably(target, Buffer.from('data'), { onCreated: () => Promise.reject(eio) })).rejects.toBe(eio);
    expect(readdirSync(dir)).toEqual([]);
  });

  it.each([
    ['writev', 0],
    ['sync', 0],
    ['writev', 4096],
    ['sync', 4096],
  ] as const)('removes the file it created when its %s fails (inlineMaxBytes %d), and rethrows', async (op, inlineMaxBytes) => {
    const target = path.join(dir, 'dump');
    const trace = new FsTrace().install();
    trace.fail((c) => c.op === op);
    try {
      await expect(createFileDurably(target, Buffer.from('data'), { inlineMaxBytes })).rejects.toEqual(expect.objectContaining({ code: 'EIO' }));
    } finally {
      trace.restore();
    }
    expect(trace.calls.find((c) => c.op === op)!.inline === true).toBe(inlineMaxBytes > 0);
    expect(trace.ok('close')).toHaveLength(1);
    expect(readdirSync(dir)).toEqual([]);
  });
});

describe('inlineMaxBytes: small files created, written and closed on the event loop', () => {
  const ops = (trace: FsTrace) => trace.calls.map((c) => `${c.op}${c.inline ? ' inline' : ''}`);

  it('a file within the limit is created as the call runs (synchronously), written and closed on the event loop; its fsync comes before the promise settles', async () => {
    const target = path.join(dir, 'dump');
    const trace = new FsTrace().install();
    try {
      const created = createFileDurably(target, [Buffer.from('MDMP'), Buffer.from('...')], { inlineMaxBytes: 7 });
      expect(existsSync(target)).toBe(true);
      expect(ops(trace)).toEqual(['open inline']);
      await created;
      expect(ops(trace)).toEqual(['open inline', 'writev inline', 'sync inline', 'close inline']);
      expect(trace.calls.map((c) => c.flags)).toEqual(['wx', undefined, undefined, undefined]);
    } finally {
      trace.restore();
    }
    expect(statSync(target).mode & 0o777).toBe(0o644 & ~process.umask());
  });

  it('a file one byte over the limit, and any file with the default 0, goes through the thread pool', async () => {
    for (const [name, opts] of [
      ['over', { inlineMaxBytes: 6 }],
      ['default', {}],
    ] as const) {
      const target = path.join(dir, name);
      const trace = new FsTrace().install();
      try {
        await createFileDurably(target, [Buffer.from('MDMP'), Buffer.from('...')], opts);
        expect(ops(trace)).toEqual(['open', 'writev', 'sync', 'close']);
      } finally {
        trace.restore();
      }
      expect(readFileSync(target, 'utf8')).toBe('MDMP...');
    }
  });

  it('prepareFile writes a small file inline under its temporary name; commit renames it', async () => {
    const target = path.join(dir, 'raw.json');
    const trace = new FsTrace().install();
    try {
      const prepared = await prepareFile(target, Buffer.from('{}'), dir, { inlineMaxBytes: 64 });
      expect(readdirSync(dir).map((n) => [isTempFileName(n), readFileSync(path.join(dir, n), 'utf8')])).toEqual([[true, '{}']]);
      await prepared.commit();
      expect(ops(trace)).toEqual(['open inline', 'writev inline', 'sync inline', 'close inline', 'rename']);
    } finally {
      trace.restore();
    }
    expect(readdirSync(dir)).toEqual(['raw.json']);
    expect(readFileSync(target, 'utf8')).toBe('{}');
  });

  it('writes every byte when the disk takes a few at a time, and fails with EIO (no file left) when a write makes no progress', async () => {
    const real = fs.writevSync;
    const seen: number[][] = [];
    spies.push(
      jest.spyOn(fs, 'writevSync').mockImplementation(((fd: number, buffers: Buffer[]) => {
        seen.push(buffers.map((b) => b.length));
        return real(fd, [buffers[0]!.subarray(0, 3)]);
      }) as typeof fs.writevSync),
    );
    const target = path.join(dir, 'dump');
    await createFileDurably(target, [Buffer.from('hello'), Buffer.alloc(0), Buffer.from('world!')], { inlineMaxBytes: 64 });
    expect(readFileSync(target, 'utf8')).toBe('helloworld!');
    expect(seen).toEqual([[5, 6], [2, 6], [6], [3]]);

    spies.pop()!.mockRestore();
    spies.push(jest.spyOn(fs, 'writevSync').mockReturnValue(0));
    await expect(createFileDurably(path.join(dir, 'stuck'), Buffer.from('data'), { inlineMaxBytes: 64 })).rejects.toEqual(
      expect.objectContaining({ code: 'EIO', message: 'write made no progress' }),
    );
    expect(readdirSync(dir)).toEqual(['dump']);
  });

  it('fails with EEXIST, and leaves the file as it was, when the target exists', async () => {
    const target = path.join(dir, 'dump');
    writeFileSync(target, 'complete');
    await expect(createFileDurably(target, Buffer.from('x'), { inlineMaxBytes: 64 })).rejects.toEqual(expect.objectContaining({ code: 'EEXIST' }));
    expect(readFileSync(target, 'utf8')).toBe('complete');
  });
});

describe('DirSyncer', () => {
  it('keeps one handle per directory, shares one fsync among the callers that wait for it, and closes every handle on close()', async () => {
    const trace = new FsTrace().install();
    const syncer = new DirSyncer();
    try {
      await syncer.sync(dir);
      const release = trace.hold((c) => c.op === 'sync');
      const first = syncer.sync(dir);
      const waiting = [syncer.sync(dir), syncer.sync(dir), syncer.sync(dir)];
      release();
      await Promise.all([first, ...waiting]);
      // One at first, one running when the others came, one shared by all three that waited.
      expect(trace.ok('sync')).toHaveLength(3);
      expect(trace.ok('open')).toHaveLength(1);
      await syncer.close();
      expect(trace.ok('close')).toHaveLength(1);
    } finally {
      trace.restore();
    }
  });

  it('closes the oldest directory handle when more than maxOpen are open', async () => {
    const dirs = ['a', 'b', 'c'].map((d) => {
      mkdirSync(path.join(dir, d));
      return path.join(dir, d);
    });
    const trace = new FsTrace().install();
    const syncer = new DirSyncer(2);
    try {
      for (const d of dirs) await syncer.sync(d);
      await new Promise((r) => setImmediate(r));
      expect(trace.ok('close').map((c) => c.path)).toEqual([dirs[0]]);
      await syncer.sync(dirs[1]!); // still open: no new open
      expect(trace.ok('open')).toHaveLength(3);
      await syncer.close();
      expect(
        trace
          .ok('close')
          .map((c) => c.path)
          .sort(),
      ).toEqual([...dirs].sort());
    } finally {
      trace.restore();
    }
  });

  it('after a failed fsync, opens the directory afresh next time', async () => {
    const trace = new FsTrace().install();
    const syncer = new DirSyncer();
    try {
      trace.fail((c) => c.op === 'sync');
      await expect(syncer.sync(dir)).rejects.toEqual(expect.objectContaining({ code: 'EIO' }));
      await syncer.sync(dir);
      expect(trace.ok('open')).toHaveLength(2);
      expect(trace.ok('close')).toHaveLength(1); // the failed handle
      await syncer.close();
    } finally {
      trace.restore();
    }
  });

  it('a sync that fails makes the one queued behind it start anyway', async () => {
    const trace = new FsTrace().install();
    const syncer = new DirSyncer();
    try {
      await syncer.sync(dir);
      trace.fail((c) => c.op === 'sync');
      const release = trace.hold((c) => c.op === 'sync');
      const failing = syncer.sync(dir);
      const queued = syncer.sync(dir);
      release();
      await expect(failing).rejects.toEqual(expect.objectContaining({ code: 'EIO' }));
      await expect(queued).resolves.toBeUndefined();
      await syncer.close();
    } finally {
      trace.restore();
    }
  });

  it('opens the directory again when another has taken its name (an fsync of the old one makes nothing durable)', async () => {
    const target = path.join(dir, 'd');
    mkdirSync(target);
    const replacement = path.join(dir, 'd2');
    mkdirSync(replacement); // exists alongside the first: a different inode
    const trace = new FsTrace().install();
    const syncer = new DirSyncer();
    try {
      await syncer.sync(target);
      rmSync(target, { recursive: true });
      await fsp.rename(replacement, target);
      await syncer.sync(target);
      const opens = trace.ok('open');
      expect(opens).toHaveLength(2);
      expect(opens[1]!.ino).toBe(statSync(target).ino);
      expect(trace.ok('close')).toHaveLength(1); // the handle on the removed directory
      await syncer.close();
    } finally {
      trace.restore();
    }
  });

  it('a sync under way when close() is called still completes, and its handle is closed', async () => {
    const trace = new FsTrace().install();
    const syncer = new DirSyncer();
    try {
      const release = trace.hold((c) => c.op === 'sync');
      const pending = syncer.sync(dir);
      await new Promise((r) => setImmediate(r));
      const closing = syncer.close();
      release();
      await pending;
      await closing;
      expect(trace.ok('sync')).toHaveLength(1);
      expect(trace.ok('close')).toHaveLength(1);
    } finally {
      trace.restore();
    }
  });
});
