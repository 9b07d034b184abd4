import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { toBuffer, type CrashReport } from '../../../src/shared/crash-report';
import { createFsStorage } from '../../../src/worker/storage/fs';
import { fakeDump } from '../../support/crashes';
import { tempDir } from '../../support/server';

const DATE = '20160918';
const id = (i: number) => `de1bb258-cbbf-4589-a673-${String(i).padStart(6, '0')}160918`;

function crash(i: number): CrashReport {
  return {
    crashId: id(i),
    rawCrash: { ProductName: 'Test', uuid: id(i), metadata: { b: 1, a: 2 } },
    dumps: new Map([
      ['upload_file_minidump', fakeDump(10_000 + i)],
      ['memory_report', fakeDump(100 + i)],
    ]),
  };
}

function allFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)));
}

describe('fs storage', () => {
  it('saves concurrent crashes completely in the bucket layout, with no temporary file left', async () => {
    const root = tempDir();
    const storage = createFsStorage({ root, dumpField: 'upload_file_minidump' });
    const crashes = Array.from({ length: 20 }, (_, i) => crash(i));
    await Promise.all(crashes.map((c) => storage.save(c)));
    await storage.close();

    const files = allFiles(root);
    expect(files.filter((f) => path.basename(f).startsWith('.'))).toEqual([]);
    expect(files).toHaveLength(20 * 4);
    for (const c of crashes) {
      const raw = JSON.parse(readFileSync(path.join(root, `v1/raw_crash/${DATE}/${c.crashId}`), 'utf8'));
      expect(raw).toEqual(c.rawCrash);
      expect(readFileSync(path.join(root, `v1/dump/${c.crashId}`)).equals(toBuffer(c.dumps.get('upload_file_minidump')!))).toBe(true);
      expect(readFileSync(path.join(root, `v1/memory_report/${c.crashId}`)).equals(toBuffer(c.dumps.get('memory_report')!))).toBe(true);
      expect(readFileSync(path.join(root, `v1/dump_names/${c.crashId}`), 'utf8')).toBe('["memory_report","upload_file_minidump"]');
    }
  });

  it('makes a directory again when it was removed after an earlier save (a retention job)', async () => {
    const root = tempDir();
    const storage = createFsStorage({ root, dumpField: 'upload_file_minidump' });
    await storage.save(crash(1));
    rmSync(path.join(root, 'v1'), { recursive: true });
    await storage.save(crash(2));
    await storage.close();
    expect(allFiles(root).sort()).toEqual([`v1/dump/${id(2)}`, `v1/dump_names/${id(2)}`, `v1/memory_report/${id(2)}`, `v1/raw_crash/${DATE}/${id(2)}`].sort());
  });

  it('a crash that cannot be written whole leaves no raw crash and no temporary file', async () => {
    const root = tempDir();
    mkdirSync(path.join(root, 'v1'), { recursive: true });
    writeFileSync(path.join(root, 'v1/memory_report'), 'not a directory');
    const storage = createFsStorage({ root, dumpField: 'upload_file_minidump' });
    await expect(storage.save(crash(2))).rejects.toThrow();
    await storage.close();
    const files = allFiles(root);
    expect(files.filter((f) => f.includes(id(2)))).toEqual([]);
    expect(files.filter((f) => path.basename(f).startsWith('.'))).toEqual([]);
  });

  it('checkHealth tests what a save needs: a dump directory that is not writable fails it, naming the path', async () => {
    const root = tempDir();
    const storage = createFsStorage({ root, dumpField: 'upload_file_minidump' });
    await storage.checkHealth();
    rmSync(path.join(root, 'v1', 'dump'), { recursive: true, force: true });
    writeFileSync(path.join(root, 'v1', 'dump'), 'in the way'); // every save now fails
    await expect(storage.save(crash(1))).rejects.toThrow();
    await expect(storage.checkHealth()).rejects.toThrow(`cannot save under ${path.join(root, 'v1', 'dump')}`);
    rmSync(path.join(root, 'v1', 'dump'));
    await storage.checkHealth();
    await storage.save(crash(1));
    // The probe leaves nothing behind in the bucket layout.
    expect(allFiles(root).filter((f) => !f.includes(id(1)))).toEqual([]);
    await storage.close();
  });
});
