import type { Config } from '../shared/config';
import type { Logger } from '../shared/logging';
import type { CrashPublisher } from './publish/crash-publisher';
import type { CrashStorage } from './storage/crash-storage';

/**
 * Builds the configured storage and publish backends. Cloud client libraries
 * are loaded only when their backend is chosen.
 */
export async function createStorage(config: Config, logger: Logger): Promise<CrashStorage> {
  switch (config.storage.class) {
    case 'fs':
      return (await import('./storage/fs')).createFsStorage({ root: config.storage.fsRoot, dumpField: config.breakpad.dumpField });
    case 'noop':
      return (await import('./storage/noop')).createNoopStorage();
    case 'gcs':
      return (await import('./storage/gcs')).createGcsStorage(config, logger);
    case 's3':
      return (await import('./storage/s3')).createS3Storage(config, logger);
  }
}

export async function createPublisher(config: Config, logger: Logger): Promise<CrashPublisher> {
  switch (config.publish.class) {
    case 'noop':
      return (await import('./publish/noop')).createNoopPublisher();
    case 'pubsub':
      return (await import('./publish/pubsub')).createPubSubPublisher(config, logger);
    case 'sqs':
      return (await import('./publish/sqs')).createSqsPublisher(config, logger);
  }
}

/** Start-up verification (SPEC §4): write a test file, publish `test`. */
export async function verifyBackends(config: Config, logger: Logger): Promise<void> {
  const storage = await createStorage(config, logger);
  const publisher = await createPublisher(config, logger);
  try {
    await storage.verify().catch((err: Error) => {
      throw new Error(`${storage.name} cannot write to its storage: ${err.message}`);
    });
    await publisher.verify().catch((err: Error) => {
      throw new Error(`${publisher.name} cannot publish: ${err.message}`);
    });
  } finally {
    await Promise.allSettled([storage.close(), publisher.close()]);
  }
}
