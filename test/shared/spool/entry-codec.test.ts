import { failureKind, failureReason } from '../../../src/shared/failure';
import { jsonDepth } from '../../../src/shared/json-safe';
import { CorruptEntryError, decodeEntry, encodeEntry } from '../../../src/shared/spool/entry-codec';

const ID = 'de1bb258-cbbf-4589-a673-34f800160918';

describe('spool entry codec', () => {
  it.each([100, 3_000, 100_000])('encodes and decodes a raw crash nested %i deep (it used to overflow the stack)', (depth) => {
    const text = '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
    const rawCrash = { Deep: JSON.parse(text) as unknown, uuid: ID };
    const back = decodeEntry(Buffer.concat(encodeEntry({ crashId: ID, rawCrash, dumps: new Map([['upload_file_minidump', Buffer.from('MDMP')]]) })));
    expect(back.crashId).toBe(ID);
    expect(jsonDepth((back.rawCrash as { Deep: unknown }).Deep)).toBe(depth);
  });

  it('calls a raw crash it cannot write permanent (unserializable), and an undecodable entry permanent (corrupt_entry)', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    let err: unknown;
    try {
      encodeEntry({ crashId: ID, rawCrash: cyclic, dumps: new Map() });
    } catch (e) {
      err = e;
    }
    expect([failureKind(err), failureReason(err)]).toEqual(['permanent', 'unserializable']);
    const corrupt = new CorruptEntryError('bad magic');
    expect([failureKind(corrupt), failureReason(corrupt)]).toEqual(['permanent', 'corrupt_entry']);
  });
});
