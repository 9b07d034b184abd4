import type { Config } from '../../shared/config';
import type { Logger } from '../../shared/logging';
import type { CrashPublisher } from './crash-publisher';

// Placeholder until the pubsub backend lands (issue "Cloud backends").
export function createPubSubPublisher(_config: Config, _logger: Logger): CrashPublisher {
  throw new Error('CRASHMOVER_CRASHPUBLISH_CLASS=pubsub is not available in this build');
}
