import { gcsSettings, pubSubSettings, s3Settings, sqsSettings, type Config } from '../shared/config';
import { KindedError, failureKind, failureReason } from '../shared/failure';
import { componentLogger, type Logger } from '../shared/logging';
import { spoolEnabled } from '../shared/spool';
import type { CrashPublisher } from './publish/crash-publisher';
import type { CrashStorage } from './storage/crash-storage';

/**
 * Builds the configured storage and publish backends. Cloud client libraries
 * are loaded only when their backend is chosen.
 */
export async function createStorage(config: Config, logger: Logger): Promise<CrashStorage> {
  switch (config.storage.class) {
    case 'fs':
      return (await import('./storage/fs')).createFsStorage({
        root: config.storage.fsRoot,
        dumpField: config.breakpad.dumpField,
        syncWindowUs: config.storage.fsSyncWindowUs,
        inlineMaxBytes: config.storage.fsInlineMaxBytes,
      });
    case 'noop':
      return (await import('./storage/noop')).createNoopStorage();
    case 'gcs':
      return (await import('./storage/gcs')).createGcsStorage(gcsSettings(config), logger);
    case 's3':
      return (await import('./storage/s3')).createS3Storage(s3Settings(config), logger);
  }
}

export async function createPublisher(config: Config, logger: Logger): Promise<CrashPublisher> {
  switch (config.publish.class) {
    case 'noop':
      return (await import('./publish/noop')).createNoopPublisher();
    case 'pubsub':
      return (await import('./publish/pubsub')).createPubSubPublisher(pubSubSettings(config), logger);
    case 'sqs':
      return (await import('./publish/sqs')).createSqsPublisher(sqsSettings(config), logger);
  }
}

/** One start-up check that failed: which backend, what it could not do, and why. */
export interface VerifyFailure {
  backend: string;
  /** `cannot write to its storage` or `cannot publish`. */
  what: string;
  err: unknown;
}

/**
 * The failure that stops the start (SPEC §4), or undefined when the node may
 * start: without the spool any failure stops it (Antenna's behaviour); with
 * the spool only one that is not transient does (a configuration error, which
 * no wait fixes), since the spool keeps what arrives while a backend is
 * merely unavailable.
 */
export function refusingFailure(failures: VerifyFailure[], spoolOn: boolean): VerifyFailure | undefined {
  return spoolOn ? failures.find((f) => failureKind(f.err) !== 'transient') : failures[0];
}

/** Runs one start-up check; resolves with its failure, or undefined when it passed. */
const failureOf = (backend: string, what: string, verify: () => Promise<void>): Promise<VerifyFailure | undefined> =>
  verify().then(
    () => undefined,
    (err: unknown) => ({ backend, what, err }),
  );

const describeFailure = (f: VerifyFailure) => `${f.backend} ${f.what}: ${(f.err as Error)?.message ?? String(f.err)}`;

/**
 * Start-up verification (SPEC §4): write a test file, publish `test`. Throws
 * (with the failure's kind and reason) when the node must not start; logs a
 * warning for each backend it starts without.
 */
export async function verifyBackends(config: Config, logger: Logger): Promise<void> {
  const spoolOn = spoolEnabled(config);
  // A backend that cannot even be built (a required setting missing) stops the start whatever the spool.
  const storage = await createStorage(config, logger);
  const publisher = await createPublisher(config, logger);
  try {
    const verifyStorage = () => failureOf(storage.name, 'cannot write to its storage', () => storage.verify());
    const verifyPublisher = () => failureOf(publisher.name, 'cannot publish', () => publisher.verify());
    let results: Array<VerifyFailure | undefined>;
    if (spoolOn) {
      // The publisher is checked even while storage is down (a missing topic must still stop the start),
      // and at the same time, so that an unanswering backend delays the start by one timeout, not two.
      results = await Promise.all([verifyStorage(), verifyPublisher()]);
    } else {
      // The first failure ends the start, before a `test` is published (Antenna).
      const storageFailure = await verifyStorage();
      results = [storageFailure ?? (await verifyPublisher())];
    }
    const failures = results.filter((f) => f !== undefined);

    const refusal = refusingFailure(failures, spoolOn);
    if (refusal) throw new KindedError(failureKind(refusal.err), failureReason(refusal.err), describeFailure(refusal), { cause: refusal.err });
    const log = componentLogger(logger, 'antenna.startup');
    for (const f of failures) {
      log.warn(
        `${describeFailure(f)}; starting anyway, as the spool is on (CRASHMOVER_SPOOL_DIR=${config.crashmover.spoolDir}): ` +
          `crashes are accepted into the spool, ${f.backend} shows under spool.backends in /__heartbeat__, ` +
          `and the spool drains once it is back`,
      );
    }
  } finally {
    await Promise.allSettled([storage.close(), publisher.close()]);
  }
}
