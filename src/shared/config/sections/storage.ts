import { choice, optionalStr, str } from '../option';

export const STORAGE_CLASSES = ['fs', 'noop', 'gcs', 's3'] as const;
export type StorageClass = (typeof STORAGE_CLASSES)[number];

/** Where crashes are saved. Backend-specific options live here too, next to the class choice. */
export const storageOptions = {
  class: choice<StorageClass>({
    env: 'CRASHMOVER_CRASHSTORAGE_CLASS',
    default: 'fs',
    values: STORAGE_CLASSES,
    valueAliases: {
      'antenna.ext.fs.crashstorage.FSCrashStorage': 'fs',
      'antenna.ext.crashstorage_base.NoOpCrashStorage': 'noop',
      'antenna.ext.gcs.crashstorage.GcsCrashStorage': 'gcs',
      'antenna.ext.s3.crashstorage.S3CrashStorage': 's3',
    },
    doc: 'Storage backend: `fs` (a directory, the embedded default), `gcs`, `s3` or `noop` (keeps nothing).',
  }),
  fsRoot: str({
    env: 'CRASHMOVER_CRASHSTORAGE_FS_ROOT',
    default: './crashes',
    doc: 'Root directory of `fs` storage; crashes are laid out as in a bucket (`v1/raw_crash/<date>/<id>` …).',
    expected: 'a directory path',
  }),
  bucketName: optionalStr({
    env: 'CRASHMOVER_CRASHSTORAGE_BUCKET_NAME',
    doc: 'Bucket for `gcs` and `s3` storage; it must exist already.',
    expected: 'a bucket name',
  }),
  storageEmulatorHost: optionalStr({
    env: 'STORAGE_EMULATOR_HOST',
    doc: 'URL of a GCS emulator (e.g. `http://127.0.0.1:4443`); when set, `gcs` uses it with anonymous credentials.',
    expected: 'a URL',
  }),
};
