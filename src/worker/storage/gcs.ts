import type { Config } from '../../shared/config';
import type { Logger } from '../../shared/logging';
import type { CrashStorage } from './crash-storage';

// Placeholder until the gcs backend lands (issue "Cloud backends").
export function createGcsStorage(_config: Config, _logger: Logger): CrashStorage {
  throw new Error('CRASHMOVER_CRASHSTORAGE_CLASS=gcs is not available in this build');
}
