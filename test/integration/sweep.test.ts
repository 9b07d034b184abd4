import { existsSync, mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { crashFiles } from '../support/crashes';
import { startServer, tempDir } from '../support/server';
import { waitFor } from '../support/wait';

const TWO_DAYS = 2 * 24 * 3600_000;
const DATE = '20160918';
const COMPLETE = 'de1bb258-cbbf-4589-a673-000010160918';
const ORPHAN = 'de1bb258-cbbf-4589-a673-000020160918';

function seed(root: string, key: string, content = 'x', ageMs = TWO_DAYS): string {
  const file = path.join(root, key);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, content);
  const t = (Date.now() - ageMs) / 1000;
  utimesSync(file, t, t);
  return file;
}

/** The files one crash has in storage, as a save writes them (dumps and dump_names first, the raw crash last). */
function seedCrash(root: string, id: string, withRawCrash: boolean): void {
  seed(root, `v1/dump_names/${id}`, '["memory_report","upload_file_minidump"]');
  seed(root, `v1/dump/${id}`, 'MDMP');
  seed(root, `v1/memory_report/${id}`, 'report');
  if (withRawCrash) seed(root, `v1/raw_crash/${DATE}/${id}`, `{"uuid":"${id}"}`);
}

describe('cleaning up after kills', () => {
  it('fs storage: at start, old temporary files and dumps without a raw crash are swept; complete crashes stay', async () => {
    const root = path.join(tempDir(), 'crashes');
    seedCrash(root, COMPLETE, true);
    seedCrash(root, ORPHAN, false);
    const tmp = [`v1/raw_crash/${DATE}/.${ORPHAN}.0123456789ab.tmp`, `v1/dump/.${ORPHAN}.0123456789ab.tmp`];
    for (const key of tmp) seed(root, key);
    const fresh = seed(root, `v1/dump/.${COMPLETE}.aaaaaaaaaaaa.tmp`, 'x', 0);

    const server = await startServer({ CRASHMOVER_CRASHSTORAGE_FS_ROOT: root, WORKERS: '1' });
    try {
      await server.waitForLog(/storage sweep of .*: removed 2 temporary files and 1 orphaned crashes \(3 files\)/, 20000);
      expect(crashFiles(root)).toEqual(
        [
          `v1/dump/${COMPLETE}`,
          `v1/dump_names/${COMPLETE}`,
          `v1/memory_report/${COMPLETE}`,
          `v1/raw_crash/${DATE}/${COMPLETE}`,
          `v1/dump/.${COMPLETE}.aaaaaaaaaaaa.tmp`,
        ].sort(),
      );
      expect(existsSync(fresh)).toBe(true);
    } finally {
      await server.stop();
    }
  });

  it('spool: tmp/ is emptied at start and swept of what killed writers leave while running', async () => {
    const dir = tempDir();
    const spool = path.join(dir, 'spool');
    const atStart = seed(spool, 'tmp/.1700000000000-12-de1bb258-cbbf-4589-a673-000030160918.crash.0123456789ab.tmp');
    const server = await startServer({
      CRASHMOVER_SPOOL: 'on',
      CRASHMOVER_SPOOL_DIR: spool,
      CRASHMOVER_CRASHSTORAGE_FS_ROOT: path.join(dir, 'crashes'),
      CRASHMOVER_SPOOL_SWEEP_INTERVAL: '1',
      WORKERS: '1',
    });
    try {
      expect(existsSync(atStart)).toBe(false);
      const later = seed(spool, 'tmp/.1700000000000-12-de1bb258-cbbf-4589-a673-000040160918.crash.0123456789ab.tmp');
      const live = seed(spool, 'tmp/.1700000000000-12-de1bb258-cbbf-4589-a673-000050160918.crash.aaaaaaaaaaaa.tmp', 'x', 0);
      await waitFor('the old temporary entry swept', () => !existsSync(later), 20000);
      await server.waitForLog(/spool sweep: removed 1 files left in .*tmp by interrupted writes/);
      expect(existsSync(live)).toBe(true);
    } finally {
      await server.stop();
    }
  });
});
