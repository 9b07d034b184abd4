import type { Config } from '../config';
import { spoolPaths, type SpoolPaths } from './layout';

export * from './layout';
export * from './spool-dir';

/** Spool mode: `on`, `off`, or `auto` = on exactly when storage is remote. */
export function spoolEnabled(config: Config): boolean {
  const mode = config.crashmover.spool;
  if (mode === 'auto') return config.storage.class === 'gcs' || config.storage.class === 's3';
  return mode === 'on';
}

export const configuredSpoolPaths = (config: Config): SpoolPaths => spoolPaths(config.crashmover.spoolDir);
