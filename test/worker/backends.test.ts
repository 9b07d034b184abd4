/** Start-up verification's rule (SPEC §4): which failed check stops the start. */
import { KindedError } from '../../src/shared/failure';
import { refusingFailure, type VerifyFailure } from '../../src/worker/backends';

const failure = (backend: string, err: unknown): VerifyFailure => ({ backend, what: 'cannot write to its storage', err });
const unavailable = failure('GcsCrashStorage', new KindedError('transient', 'unavailable', 'GCS is unavailable (503)'));
const missingTopic = failure('PubSubCrashPublish', new KindedError('configuration', 'topic_missing', 'topic does not exist'));

describe('refusingFailure', () => {
  test('nothing failed: the node starts, spool or not', () => {
    expect(refusingFailure([], false)).toBeUndefined();
    expect(refusingFailure([], true)).toBeUndefined();
  });

  test('without the spool, any failure stops the start, an unavailable backend too (Antenna)', () => {
    expect(refusingFailure([unavailable], false)).toBe(unavailable);
    expect(refusingFailure([missingTopic], false)).toBe(missingTopic);
  });

  test('with the spool, an unavailable backend does not stop the start', () => {
    expect(refusingFailure([unavailable], true)).toBeUndefined();
    expect(refusingFailure([unavailable, failure('PubSubCrashPublish', new KindedError('transient', 'timeout', 'no answer'))], true)).toBeUndefined();
  });

  test('with the spool, a configuration failure still stops it, even behind an unavailable backend', () => {
    expect(refusingFailure([unavailable, missingTopic], true)).toBe(missingTopic);
    const denied = failure('S3CrashStorage', new KindedError('configuration', 'permission_denied', 'access denied'));
    expect(refusingFailure([denied], true)).toBe(denied);
  });

  test('with the spool, a permanent failure stops it too: only transient ones are waited out', () => {
    const permanent = failure('GcsCrashStorage', new KindedError('permanent', 'unserializable', 'cannot serialize'));
    expect(refusingFailure([permanent], true)).toBe(permanent);
  });
});
