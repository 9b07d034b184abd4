import { bool, choice, int, num, optionalStr, str } from '../option';

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
  fsSyncWindowUs: int({
    env: 'CRASHMOVER_CRASHSTORAGE_FS_SYNC_WINDOW_US',
    default: 1000,
    min: 0,
    max: 10_000,
    doc: 'Group-commit window of `fs` storage, in microseconds: a file or directory fsync waits this long for others to issue with it, so concurrent crashes share journal commits and directory fsyncs. Under 1000 waits until the end of the current event-loop turn (Node timers count whole milliseconds); 0 = issue each at once (directory fsyncs are still shared by every rename that finished before one starts). Every file is still fsynced, renamed and its directory fsynced before the crash is acknowledged, the raw crash last. The default 1000 (bench, 4 KB crashes, 16 connections, six rounds alternated with 0): 23 % more crashes per second, 21 % less CPU per crash and a lower p99 (21–30 against 24–47 ms); 400 KB unchanged (docs/performance.md). A lone crash waits up to 2 ms more.',
  }),
  fsInlineMaxBytes: int({
    env: 'CRASHMOVER_CRASHSTORAGE_FS_INLINE_MAX_BYTES',
    default: 1_048_576,
    min: 0,
    max: 1_048_576,
    doc: 'Files of `fs` storage up to this many bytes (the raw crash, dump_names, dumps up to 1 MiB) are created, written and closed with synchronous calls on the event loop; their fsyncs, and every call for larger files, go through the thread pool. On a local disk those calls take microseconds, less than a thread-pool trip costs (at 4 KB crashes this saved a quarter to a third of the CPU per crash, at 400 KB 13 % more crashes per second than a 64 KiB limit). Set 0 when the root is on a network filesystem (NFS, EFS, SMB), where each call waits for the server and would hold up every request of the worker. At most 1 MiB: larger writes on the event loop measured slower.',
  }),
  fsSweepIntervalSeconds: int({
    env: 'CRASHMOVER_CRASHSTORAGE_FS_SWEEP_INTERVAL',
    default: 3600,
    min: 0,
    doc: 'Seconds between sweeps of `fs` storage for what interrupted saves left behind: temporary files, and dumps whose raw crash was never written (see docs/backends.md). The primary sweeps at start and then every interval; 0 = never sweep. A sweep lists every directory of the tree, so keep it hourly or rarer on large trees.',
  }),
  fsSweepMinAgeSeconds: int({
    env: 'CRASHMOVER_CRASHSTORAGE_FS_SWEEP_MIN_AGE',
    default: 3600,
    min: 1,
    doc: 'Age in seconds from which a temporary file or an orphaned dump of `fs` storage counts as left behind (orphans in spool mode wait `CRASHMOVER_SPOOL_MAX_AGE` at least). A save takes seconds; an hour leaves room for a disk that stalls.',
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
  timeoutSeconds: num({
    env: 'CRASHMOVER_CRASHSTORAGE_TIMEOUT',
    default: 60,
    min: 0.1,
    doc: 'Seconds one save attempt of one crash may take on `gcs` or `s3` before it counts as failed (and is retried by the crashmover).',
  }),
  region: optionalStr({
    env: 'CRASHMOVER_CRASHSTORAGE_REGION',
    doc: "AWS region of the `s3` bucket (default: the SDK's own resolution, e.g. `AWS_REGION`).",
    expected: 'an AWS region such as `us-west-2`',
  }),
  endpointUrl: optionalStr({
    env: 'CRASHMOVER_CRASHSTORAGE_ENDPOINT_URL',
    doc: 'Endpoint of an S3-compatible store (MinIO, Ceph, a local fake) for `s3`; unset = AWS.',
    expected: 'a URL',
  }),
  forcePathStyle: bool({
    env: 'CRASHMOVER_CRASHSTORAGE_FORCE_PATH_STYLE',
    default: false,
    doc: 'Address `s3` objects as `<endpoint>/<bucket>/<key>` instead of `<bucket>.<endpoint>/<key>`; most S3-compatible stores need this.',
  }),
  accessKey: optionalStr({
    env: 'CRASHMOVER_CRASHSTORAGE_ACCESS_KEY',
    doc: "Access key id for `s3`; unset = the SDK's default credential chain (instance role, `AWS_*` variables).",
    expected: 'an access key id',
  }),
  secretAccessKey: optionalStr({
    env: 'CRASHMOVER_CRASHSTORAGE_SECRET_ACCESS_KEY',
    secret: true,
    doc: 'Secret access key for `s3`, together with `CRASHMOVER_CRASHSTORAGE_ACCESS_KEY`.',
    expected: 'a secret access key',
  }),
};
