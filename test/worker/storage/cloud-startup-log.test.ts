/**
 * What GCS and S3 storage say at LOG_LEVEL=DEBUG when they are created: where
 * crashes go (bucket, endpoint, emulator, path-style). Creating a client sends
 * no request, so no fake is needed.
 */
import { Writable } from 'node:stream';
import { gcsSettings, loadConfig, s3Settings } from '../../../src/shared/config';
import { createLogger } from '../../../src/shared/logging';
import { createGcsStorage } from '../../../src/worker/storage/gcs';
import { createS3Storage } from '../../../src/worker/storage/s3';

// Never the machine's Google configuration: no metadata-server probe.
process.env.METADATA_SERVER_DETECTION = 'none';

function debugLogger() {
  const lines: string[] = [];
  const logger = createLogger({
    level: 'DEBUG',
    localDevEnv: false,
    hostname: 'test',
    stream: new Writable({ write: (c: Buffer, _e, cb) => (lines.push((JSON.parse(c.toString()) as { Fields: { message: string } }).Fields.message), cb()) }),
  });
  return { lines, logger };
}

const savedEmulatorHost = process.env.STORAGE_EMULATOR_HOST;
beforeEach(() => delete process.env.STORAGE_EMULATOR_HOST);
afterAll(() => {
  if (savedEmulatorHost !== undefined) process.env.STORAGE_EMULATOR_HOST = savedEmulatorHost;
});

describe('GCS storage at start-up', () => {
  it('names the emulator, the bucket and the endpoint', async () => {
    const { lines, logger } = debugLogger();
    const env = { CRASHMOVER_CRASHSTORAGE_CLASS: 'gcs', CRASHMOVER_CRASHSTORAGE_BUCKET_NAME: 'crashes', STORAGE_EMULATOR_HOST: '127.0.0.1:9023' };
    const storage = createGcsStorage(gcsSettings(loadConfig(env)), logger);
    expect(storage.name).toBe('GcsCrashStorage');
    expect(lines).toEqual([
      'STORAGE_EMULATOR_HOST detected, connecting to emulator: 127.0.0.1:9023',
      'gcs storage: saving crashes to bucket crashes at http://127.0.0.1:9023',
    ]);
    await storage.close();
  });

  it('says nothing of an emulator when there is none', () => {
    const { lines, logger } = debugLogger();
    createGcsStorage(gcsSettings(loadConfig({ CRASHMOVER_CRASHSTORAGE_CLASS: 'gcs', CRASHMOVER_CRASHSTORAGE_BUCKET_NAME: 'crashes' })), logger);
    expect(lines).toEqual(['gcs storage: saving crashes to bucket crashes at https://storage.googleapis.com']);
  });
});

describe('S3 storage at start-up', () => {
  const base = { CRASHMOVER_CRASHSTORAGE_CLASS: 's3', CRASHMOVER_CRASHSTORAGE_BUCKET_NAME: 'crashes', CRASHMOVER_CRASHSTORAGE_REGION: 'us-west-2' };

  it('names a custom endpoint, path-style addressing, and the bucket', async () => {
    const { lines, logger } = debugLogger();
    const env = { ...base, CRASHMOVER_CRASHSTORAGE_ENDPOINT_URL: 'http://127.0.0.1:9000', CRASHMOVER_CRASHSTORAGE_FORCE_PATH_STYLE: 'true' };
    const storage = createS3Storage(s3Settings(loadConfig(env)), logger);
    expect(storage.name).toBe('S3CrashStorage');
    expect(lines).toEqual(['s3 storage: using endpoint http://127.0.0.1:9000 (path-style)', 's3 storage: saving crashes to bucket crashes']);
    await storage.close();
  });

  it('names no endpoint for AWS itself', async () => {
    const { lines, logger } = debugLogger();
    const storage = createS3Storage(s3Settings(loadConfig(base)), logger);
    expect(lines).toEqual(['s3 storage: saving crashes to bucket crashes']);
    await storage.close();
  });

  it('says nothing of path-style when it is off', async () => {
    const { lines, logger } = debugLogger();
    const storage = createS3Storage(s3Settings(loadConfig({ ...base, CRASHMOVER_CRASHSTORAGE_ENDPOINT_URL: 'http://127.0.0.1:9000' })), logger);
    expect(lines[0]).toBe('s3 storage: using endpoint http://127.0.0.1:9000');
    await storage.close();
  });
});
