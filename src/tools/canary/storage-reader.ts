/**
 * Read-side clients for the collector's storage, built from the collector's
 * own configuration (the same client options the worker's backends use, so
 * emulator hosts, endpoints, regions and credentials carry over). The
 * canary's identity needs read access: storage.objects.get on GCS,
 * s3:GetObject on S3.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../../shared/config';
import { KindedError } from '../../shared/failure';

export interface StorageReader {
  /** e.g. `fs storage at ./crashes`, for the report. */
  describe: string;
  /** The object's bytes, or undefined while it does not exist; throws on any other failure. */
  get(key: string): Promise<Buffer | undefined>;
  close(): Promise<void>;
}

const READ_TIMEOUT_MS = 10_000;

export async function createStorageReader(config: Config): Promise<StorageReader> {
  const s = config.storage;
  switch (s.class) {
    case 'fs':
      return {
        describe: `fs storage at ${s.fsRoot}`,
        async get(key) {
          try {
            return await readFile(path.join(s.fsRoot, key));
          } catch (err) {
            if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
            throw err;
          }
        },
        async close() {},
      };
    case 'gcs': {
      const { Storage } = await import('@google-cloud/storage');
      const { gcsClientOptions } = await import('../../worker/storage/gcs');
      const bucket = new Storage(gcsClientOptions(s, READ_TIMEOUT_MS)).bucket(s.bucketName!);
      return {
        describe: `gcs bucket ${s.bucketName}${s.storageEmulatorHost ? ` at ${s.storageEmulatorHost}` : ''}`,
        async get(key) {
          try {
            const [data] = await bucket.file(key).download();
            return data;
          } catch (err) {
            if ((err as { code?: unknown }).code === 404 && !/bucket/i.test((err as Error).message)) return undefined;
            throw err;
          }
        },
        async close() {},
      };
    }
    case 's3': {
      const { S3Client, GetObjectCommand } = await import('@aws-sdk/client-s3');
      const { s3ClientConfig } = await import('../../worker/storage/s3');
      const client = new S3Client(s3ClientConfig(s, READ_TIMEOUT_MS));
      return {
        describe: `s3 bucket ${s.bucketName}${s.endpointUrl ? ` at ${s.endpointUrl}` : ''}`,
        async get(key) {
          try {
            const out = await client.send(new GetObjectCommand({ Bucket: s.bucketName!, Key: key }));
            return Buffer.from(await out.Body!.transformToByteArray());
          } catch (err) {
            if ((err as { name?: string }).name === 'NoSuchKey') return undefined;
            throw err;
          }
        },
        async close() {
          client.destroy();
        },
      };
    }
    case 'noop':
      throw new KindedError(
        'configuration',
        'storage_noop',
        "CRASHMOVER_CRASHSTORAGE_CLASS=noop keeps nothing, so there is nothing to verify; run the canary with the collector's storage settings (fs, gcs or s3)",
      );
  }
}
