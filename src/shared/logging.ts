import winston from 'winston';
import type { LogLevel } from './config/sections/logging';

/** syslog severities used by mozlog. */
const SEVERITY: Record<string, number> = { error: 3, warn: 4, info: 6, debug: 7 };
const WINSTON_LEVEL: Record<LogLevel, string> = { DEBUG: 'debug', INFO: 'info', WARNING: 'warn', ERROR: 'error', CRITICAL: 'error' };

export type Logger = winston.Logger;

export interface LoggingOptions {
  level: LogLevel;
  localDevEnv: boolean;
  hostname: string;
  /** Where lines go; tests pass a stream to capture them. */
  stream?: NodeJS.WritableStream;
}

/** Nanoseconds since the epoch, as mozlog's `Timestamp` wants. */
function nowNs(): number {
  return Math.round((performance.timeOrigin + performance.now()) * 1e6);
}

/** One JSON object per line in mozlog 2.0 format. */
function mozlogFormat(hostname: string) {
  return winston.format.printf((info) => {
    const { level, message, type, stack, ...rest } = info as Record<string, unknown>;
    const fields: Record<string, unknown> = { host_id: hostname, message };
    for (const [k, v] of Object.entries(rest)) {
      if (typeof k === 'string' && !k.startsWith('Symbol(')) fields[k] = v;
    }
    if (stack) fields.traceback = stack;
    return JSON.stringify({
      Timestamp: nowNs(),
      Type: type ?? 'antenna',
      Logger: 'antenna',
      Hostname: hostname,
      EnvVersion: '2.0',
      Severity: SEVERITY[level as string] ?? 6,
      Pid: process.pid,
      Fields: fields,
    });
  });
}

/** Readable lines for LOCAL_DEV_ENV=1. */
const devFormat = winston.format.printf((info) => {
  const { level, message, type, stack, timestamp, ...rest } = info as Record<string, unknown>;
  const extra = Object.keys(rest).length ? ' ' + JSON.stringify(rest) : '';
  return `${timestamp} ${String(level).toUpperCase().padEnd(5)} [${process.pid}] ${type ?? 'antenna'}: ${message}${extra}${stack ? '\n' + stack : ''}`;
});

export function createLogger(opts: LoggingOptions): Logger {
  const transport = opts.stream
    ? new winston.transports.Stream({ stream: opts.stream })
    : new winston.transports.Console({ stderrLevels: [] });
  return winston.createLogger({
    level: WINSTON_LEVEL[opts.level],
    format: opts.localDevEnv
      ? winston.format.combine(winston.format.timestamp(), devFormat)
      : mozlogFormat(opts.hostname),
    transports: [transport],
  });
}

/** A logger whose lines carry the mozlog `Type` of one component. */
export function componentLogger(logger: Logger, type: string): Logger {
  return logger.child({ type });
}
