import { gcsSettings, loadConfig, pubSubSettings, s3Settings, sqsSettings } from '../../src/shared/config';

describe('the loaded configuration', () => {
  test('is frozen all the way down: no component can change it under the others', () => {
    const config = loadConfig({ CRASHMOVER_SPOOL_MAX_BYTES: '2MiB' });
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.storage)).toBe(true);
    expect(Object.isFrozen(config.crashmover.spoolMaxBytes)).toBe(true);
    expect(() => {
      (config.storage as { fsRoot: string }).fsRoot = '/elsewhere';
    }).toThrow(TypeError);
    // A test may still build a variant by spreading.
    expect({ ...config, storage: { ...config.storage, fsRoot: '/elsewhere' } }.storage.fsRoot).toBe('/elsewhere');
  });
});

describe('backend settings: each cloud backend its own slice, built once', () => {
  const gcsEnv = { CRASHMOVER_CRASHSTORAGE_CLASS: 'gcs', CRASHMOVER_CRASHSTORAGE_BUCKET_NAME: 'b' };

  test('timeouts in ms; the heartbeat bound is the smaller of the request timeout and HEALTH_CHECK_TIMEOUT', () => {
    const long = gcsSettings(loadConfig({ ...gcsEnv, CRASHMOVER_CRASHSTORAGE_TIMEOUT: '60' }));
    expect(long).toMatchObject({ bucketName: 'b', timeoutSeconds: 60, timeoutMs: 60_000 });
    expect(long.healthTimeoutMs).toBe(loadConfig({}).cluster.healthCheckTimeoutSeconds * 1000);
    const short = s3Settings(loadConfig({ ...gcsEnv, CRASHMOVER_CRASHSTORAGE_CLASS: 's3', CRASHMOVER_CRASHSTORAGE_TIMEOUT: '0.25' }));
    expect(short).toMatchObject({ timeoutMs: 250, healthTimeoutMs: 250 });
    const sqs = sqsSettings(
      loadConfig({ CRASHMOVER_CRASHPUBLISH_CLASS: 'sqs', CRASHMOVER_CRASHPUBLISH_QUEUE_NAME: 'q', CRASHMOVER_CRASHPUBLISH_TIMEOUT: '2.5' }),
    );
    expect(sqs).toMatchObject({ queueName: 'q', timeoutSeconds: 2.5, timeoutMs: 2500 });
    expect(Object.isFrozen(sqs)).toBe(true);
  });

  test('a required setting missing is a configuration failure naming the variable', () => {
    const none = loadConfig({});
    for (const [build, variable] of [
      [gcsSettings, 'CRASHMOVER_CRASHSTORAGE_BUCKET_NAME'],
      [s3Settings, 'CRASHMOVER_CRASHSTORAGE_BUCKET_NAME'],
      [pubSubSettings, 'CRASHMOVER_CRASHPUBLISH_PROJECT_ID'],
      [sqsSettings, 'CRASHMOVER_CRASHPUBLISH_QUEUE_NAME'],
    ] as const) {
      expect(() => build(none)).toThrow(
        expect.objectContaining({ kind: 'configuration', reason: 'setting_missing', message: expect.stringContaining(variable) }),
      );
    }
  });
});
