import { missingBackendSettings } from './backend-settings';
import type { Option, Section, SectionValue } from './option';
import { breakpadOptions } from './sections/breakpad';
import { clusterOptions } from './sections/cluster';
import { crashmoverOptions } from './sections/crashmover';
import { loggingOptions } from './sections/logging';
import { observabilityOptions } from './sections/observability';
import { publishOptions } from './sections/publish';
import { serverOptions } from './sections/server';
import { storageOptions } from './sections/storage';
import { throttlerOptions } from './sections/throttler';

/** Every configuration section, in the order the docs list them. */
export const SECTIONS = {
  server: { title: 'Server', options: serverOptions },
  cluster: { title: 'Processes', options: clusterOptions },
  logging: { title: 'Logging', options: loggingOptions },
  breakpad: { title: 'Crash submission (`/submit`)', options: breakpadOptions },
  throttler: { title: 'Throttling', options: throttlerOptions },
  crashmover: { title: 'Crashmover (saving and publishing)', options: crashmoverOptions },
  storage: { title: 'Storage', options: storageOptions },
  publish: { title: 'Publishing', options: publishOptions },
  observability: { title: 'Metrics and error reporting', options: observabilityOptions },
} satisfies Record<string, { title: string; options: Section }>;

type Sections = typeof SECTIONS;
export type Config = { [K in keyof Sections]: SectionValue<Sections[K]['options']> };

export * from './backend-settings';

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

function rawValue(opt: Option<unknown>, env: NodeJS.ProcessEnv): { name: string; value: string | undefined } {
  for (const name of [opt.env, ...(opt.aliases ?? [])]) {
    const value = env[name];
    if (value !== undefined) return { name, value };
  }
  return { name: opt.env, value: undefined };
}

/**
 * Reads and validates every option from the environment, once. All problems
 * are collected so an operator sees them together; each names the variable,
 * the value and what is expected.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const problems: string[] = [];
  const config: Record<string, Record<string, unknown>> = {};
  for (const [sectionName, section] of Object.entries(SECTIONS)) {
    const values: Record<string, unknown> = {};
    for (const [key, opt] of Object.entries(section.options as Section)) {
      const { name, value } = rawValue(opt, env);
      try {
        values[key] = opt.parse(value);
      } catch (err) {
        const shown = opt.secret ? '<redacted>' : JSON.stringify(value ?? '');
        // Parsers say `expected …` themselves; add the expectation only to a message that does not.
        const why = (err as Error).message;
        problems.push(`${name}=${shown} is invalid: ${why}${why.includes(opt.expected) ? '' : ` (expected ${opt.expected})`}.`);
      }
    }
    config[sectionName] = values;
  }
  const result = config as Config;
  if (problems.length === 0) problems.push(...crossChecks(result));
  if (problems.length > 0) throw new ConfigError(problems);
  return deepFreeze(result);
}

/** Loaded once and shared by every component: none may change it under the others. */
function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

function crossChecks(c: Config): string[] {
  const problems: string[] = [];
  problems.push(...missingBackendSettings(c));
  if (Boolean(c.storage.accessKey) !== Boolean(c.storage.secretAccessKey)) {
    problems.push('CRASHMOVER_CRASHSTORAGE_ACCESS_KEY and CRASHMOVER_CRASHSTORAGE_SECRET_ACCESS_KEY must be set together.');
  }
  if (Boolean(c.publish.accessKey) !== Boolean(c.publish.secretAccessKey)) {
    problems.push('CRASHMOVER_CRASHPUBLISH_ACCESS_KEY and CRASHMOVER_CRASHPUBLISH_SECRET_ACCESS_KEY must be set together.');
  }
  if (Boolean(c.server.tlsCertFile) !== Boolean(c.server.tlsKeyFile)) {
    problems.push('TLS_CERT_FILE and TLS_KEY_FILE must be set together (both for HTTPS, neither for plain HTTP).');
  }
  if (c.server.adminPort !== undefined && c.server.adminPort !== 0 && c.server.adminPort === c.server.port) {
    problems.push(
      `ADMIN_PORT=${c.server.adminPort} is invalid: expected a port other than PORT (${c.server.port}), or ADMIN_PORT unset to serve everything on PORT.`,
    );
  }
  if (c.breakpad.maxDecompressedSize < c.breakpad.maxPayloadSize) {
    problems.push(
      `BREAKPAD_MAX_DECOMPRESSED_SIZE=${c.breakpad.maxDecompressedSize} is invalid: expected a value ≥ BREAKPAD_MAX_PAYLOAD_SIZE (${c.breakpad.maxPayloadSize}).`,
    );
  }
  if (c.breakpad.workerMemoryBudget < c.breakpad.maxDecompressedSize) {
    problems.push(
      `BREAKPAD_WORKER_MEMORY_BUDGET=${c.breakpad.workerMemoryBudget} is invalid: expected a value ≥ BREAKPAD_MAX_DECOMPRESSED_SIZE (${c.breakpad.maxDecompressedSize}), or the largest crash accepted could never fit.`,
    );
  }
  return problems;
}
