/**
 * The fs storage's start-up check, health probe and shutdown, and that a
 * save into directories it already made costs no mkdir.
 */
import fsp from 'node:fs/promises';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { CrashReport } from '../../../src/shared/crash-report';
import { createFsStorage } from '../../../src/worker/storage/fs';
import { createNoopStorage } from '../../../src/worker/storage/noop';
import { fakeDump } from '../../support/crashes';
import { FsTrace } from '../../support/fs-trace';
import { tempDir } from '../../support/server';

const id = (i: number) => `de1bb258-cbbf-4589-a673-${String(i).padStart(6, '0')}160918`;
const crash = (i: number): CrashReport => ({
  crashId: id(i),
  rawCrash: { ProductName: 'Test', uuid: id(i), metadata: {} },
  dumps: new Map([['upload_file_minidump', fakeDump(1000)]]),
});
const todayYyyymmdd = () => new Date().toISOString().slice(0, 10).replace(/-/g, '');

let root: string;
beforeEach(() => {
  root = tempDir('antenna-fs-health-');
});
afterEach(() => {
  jest.restoreAllMocks();
  rmSync(root, { recursive: true, force: true });
});

describe('fs storage outside saves', () => {
  it('is named FSCrashStorage (the name /__heartbeat__ shows); the no-op storage NoOpCrashStorage', () => {
    expect(createFsStorage({ root, dumpField: 'upload_file_minidump' }).name).toBe('FSCrashStorage');
    expect(createNoopStorage().name).toBe('NoOpCrashStorage');
  });

  it('verify() writes a test file under test/ with the contents "test"', async () => {
    const storage = createFsStorage({ root, dumpField: 'upload_file_minidump' });
    await storage.verify();
    const files = readdirSync(path.join(root, 'test'));
    expect(files).toHaveLength(1);
    expect(files[0]).toMatch(/^testfile-[0-9a-f-]{36}\.txt$/);
    expect(readFileSync(path.join(root, 'test', files[0]!), 'utf8')).toBe('test');
    await storage.close();
  });

  it('checkHealth() makes the directories a save of today needs, writes and removes a probe file durably', async () => {
    const storage = createFsStorage({ root, dumpField: 'upload_file_minidump' });
    const trace = new FsTrace().install();
    try {
      await storage.checkHealth();
    } finally {
      trace.restore();
    }
    expect(existsSync(path.join(root, 'v1', 'raw_crash', todayYyyymmdd()))).toBe(true);
    expect(existsSync(path.join(root, 'v1', 'dump'))).toBe(true);
    expect(existsSync(path.join(root, 'v1', 'dump_names'))).toBe(true);
    const probe = path.join(root, 'test', `.health-probe-${process.pid}`);
    expect(trace.calls.filter((c) => c.path === probe).map((c) => c.op)).toEqual(['open', 'writeFile', 'sync', 'close', 'unlink']);
    expect(readdirSync(path.join(root, 'test'))).toEqual([]);
    await storage.close();
  });

  it('checkHealth() names the root and the cause when the probe file cannot be written', async () => {
    const storage = createFsStorage({ root, dumpField: 'upload_file_minidump' });
    mkdirSync(path.join(root, 'test', `.health-probe-${process.pid}`), { recursive: true }); // a directory in its way
    await expect(storage.checkHealth()).rejects.toThrow(`cannot write durably under ${root}: EISDIR`);
    await storage.close();
  });

  it('checkHealth() says what went wrong even for an error without a code', async () => {
    const storage = createFsStorage({ root, dumpField: 'upload_file_minidump' });
    jest.spyOn(fsp, 'access').mockRejectedValue(new Error('no way'));
    await expect(storage.checkHealth()).rejects.toThrow(/^cannot save under .*: no way$/);
  });

  it('close() closes every directory handle it kept for fsyncs', async () => {
    const storage = createFsStorage({ root, dumpField: 'upload_file_minidump' });
    const trace = new FsTrace().install();
    try {
      await storage.save(crash(1));
      await storage.close();
    } finally {
      trace.restore();
    }
    expect(trace.ok('close')).toHaveLength(trace.ok('open').length);
  });

  it('makes a directory once: a second crash into the same directories costs no mkdir', async () => {
    const storage = createFsStorage({ root, dumpField: 'upload_file_minidump' });
    await storage.save(crash(1));
    const mkdir = jest.spyOn(fsp, 'mkdir');
    await storage.save(crash(2));
    expect(mkdir).not.toHaveBeenCalled();
    expect(readFileSync(path.join(root, 'v1', 'dump', id(2))).length).toBe(1000);
    await storage.close();
  });
});
