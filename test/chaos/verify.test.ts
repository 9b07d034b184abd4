/** The chaos audit must catch every way an acknowledged crash can be wrong in storage, or its "0 lost" means nothing. */
import { createHash } from 'node:crypto';
import type { ExpectedCrash } from '../../chaos/lib/corpus';
import { crashProblems, rawCrashKey } from '../../chaos/lib/verify';

const ID = 'de1bb258-cbbf-4589-a673-34f800160918';
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const minidump = Buffer.from('MDMP\r\n--minidump');
const memory = Buffer.from('memory report');

/** A correctly stored crash with two dumps, as a key → bytes map. */
function stored(): Map<string, Buffer> {
  const raw = { uuid: ID, ChaosCase: '12-7', metadata: { dump_checksums: { upload_file_minidump: sha(minidump), memory_report: sha(memory) } } };
  return new Map([
    [rawCrashKey(ID), Buffer.from(JSON.stringify(raw))],
    [`v1/dump_names/${ID}`, Buffer.from(JSON.stringify(['memory_report', 'upload_file_minidump']))],
    [`v1/dump/${ID}`, minidump],
    [`v1/memory_report/${ID}`, memory],
  ]);
}
const expected = (): ExpectedCrash => ({
  marker: '12-7',
  dumps: new Map([
    ['upload_file_minidump', [minidump]],
    ['memory_report', [memory]],
  ]),
});
const problems = (store: Map<string, Buffer>, expect = expected(), id = ID) => crashProblems(async (k) => store.get(k), id, expect);

test('a crash stored whole has no problems', async () => {
  expect(await problems(stored())).toEqual([]);
});

test('a missing raw crash is reported as lost first', async () => {
  const s = stored();
  s.delete(rawCrashKey(ID));
  expect(await problems(s)).toEqual(['missing raw crash']);
});

test('a dump with other bytes, a missing dump, a wrong checksum, another request’s raw crash and an unexpected id are each caught', async () => {
  const other = stored();
  other.set(`v1/dump/${ID}`, Buffer.from('MDMP\r\n--minidumP'));
  expect((await problems(other)).join()).toMatch(/dump_checksums says .* stored bytes hash to .*stored bytes are not the/);

  const missing = stored();
  missing.delete(`v1/memory_report/${ID}`);
  expect(await problems(missing)).toEqual([`v1/memory_report/${ID} missing`]);

  const marker = stored();
  marker.set(rawCrashKey(ID), Buffer.from(JSON.stringify({ ...JSON.parse(marker.get(rawCrashKey(ID))!.toString()), ChaosCase: '12-8' })));
  expect((await problems(marker)).join()).toMatch(/raw crash of another request/);

  expect(await problems(stored(), { ...expected(), id: 'aaaaaaaa-cbbf-4589-a673-34f800160918' })).toEqual([expect.stringMatching(/authorized uuid/)]);
});

test('dump_names that differ from the dumps sent are caught, also when each stored dump is self-consistent', async () => {
  const e = expected();
  (e.dumps as Map<string, Buffer[]>).delete('memory_report');
  expect((await problems(stored(), e)).join()).toMatch(/dump_names .* sent \["upload_file_minidump"\]/);
  // 'consistent' only checks that names, dumps and checksums agree.
  expect(await problems(stored(), { dumps: 'consistent' })).toEqual([]);
});
