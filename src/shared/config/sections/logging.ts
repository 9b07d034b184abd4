import { choice } from '../option';

export const LOG_LEVELS = ['DEBUG', 'INFO', 'WARNING', 'ERROR', 'CRITICAL'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export const loggingOptions = {
  level: choice<LogLevel>({
    env: 'LOGGING_LEVEL',
    default: 'INFO',
    values: LOG_LEVELS,
    valueAliases: { debug: 'DEBUG', info: 'INFO', warning: 'WARNING', warn: 'WARNING', WARN: 'WARNING', error: 'ERROR', critical: 'CRITICAL' },
    doc: 'Lowest severity that is logged.',
  }),
};
