import type { IncomingHttpHeaders } from 'node:http';
import type { Logger } from './logging';
import type { Metrics } from './metrics';

/** Headers that identify a client or carry credentials: never sent to Sentry. */
export const SCRUBBED_HEADERS = ['x-forwarded-for', 'x-real-ip', 'authorization', 'cookie'];

export interface RequestInfo {
  method?: string;
  url?: string;
  headers: IncomingHttpHeaders;
}

/** The unhandled-error seam: Sentry when SECRET_SENTRY_DSN is set, nothing otherwise. */
export interface ErrorReporter {
  capture(err: unknown, request?: RequestInfo): void;
  /** Waits until queued events are sent (before a process exits). */
  flush(timeoutMs: number): Promise<void>;
}

export const noopReporter: ErrorReporter = {
  capture() {},
  async flush() {},
};

type SentryEvent = {
  request?: { headers?: Record<string, unknown>; data?: unknown; cookies?: unknown; env?: unknown; query_string?: unknown };
  user?: Record<string, unknown>;
  exception?: { values?: Array<{ stacktrace?: { frames?: Array<{ vars?: unknown }> } }> };
  breadcrumbs?: unknown;
  extra?: unknown;
};

/**
 * Removes client data from an event before it leaves the process: the request
 * body, cookies and environment, the client-identifying headers, the user's
 * IP address, and local variables of stack frames. Pure, so it is unit-tested.
 */
export function scrubEvent<E extends SentryEvent>(event: E): E {
  if (event.request) {
    delete event.request.data;
    delete event.request.cookies;
    delete event.request.env;
    if (event.request.headers) {
      event.request.headers = Object.fromEntries(
        Object.entries(event.request.headers).filter(([k]) => !SCRUBBED_HEADERS.includes(k.toLowerCase())),
      );
    }
  }
  if (event.user) {
    delete event.user.ip_address;
  }
  for (const value of event.exception?.values ?? []) {
    for (const frame of value.stacktrace?.frames ?? []) delete frame.vars;
  }
  return event;
}

export interface ReporterOptions {
  dsn: string | undefined;
  release: string | undefined;
  hostname: string;
  logger: Logger;
  metrics: Metrics;
}

/**
 * Sentry with only what the collector needs: no tracing, no automatic
 * instrumentation of http or express (it would sit on the request path), no
 * local variables, no default PII. Errors are captured explicitly, and every
 * event goes through scrubEvent; an event that cannot be scrubbed is dropped
 * and counted (`sentry_scrub_error`), never sent unscrubbed.
 */
export async function createErrorReporter(o: ReporterOptions): Promise<ErrorReporter> {
  if (!o.dsn) return noopReporter;
  const Sentry = await import('@sentry/node');
  Sentry.init({
    dsn: o.dsn,
    release: o.release,
    serverName: o.hostname,
    dataCollection: { userInfo: false, cookies: false, httpBodies: [] },
    includeLocalVariables: false,
    tracesSampleRate: undefined,
    enableOpenTelemetrySetup: false,
    enableRuntimeChannelInjection: false,
    defaultIntegrations: false,
    integrations: [Sentry.linkedErrorsIntegration(), Sentry.nodeContextIntegration(), Sentry.dedupeIntegration()],
    beforeSend(event) {
      try {
        return scrubEvent(event as SentryEvent) as typeof event;
      } catch (err) {
        o.metrics.incr('sentry_scrub_error', ['service:collector']);
        o.logger.error(`dropped a Sentry event that could not be scrubbed: ${(err as Error).message}`);
        return null;
      }
    },
  });
  Sentry.setTag('host_id', o.hostname);
  return {
    capture(err, request) {
      Sentry.withScope((scope) => {
        if (request) {
          scope.addEventProcessor((event) => {
            event.request = { method: request.method, url: request.url, headers: headerRecord(request.headers) };
            return event;
          });
        }
        Sentry.captureException(err);
      });
    },
    async flush(timeoutMs) {
      await Sentry.flush(timeoutMs);
    },
  };
}

function headerRecord(headers: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) if (v !== undefined) out[k] = Array.isArray(v) ? v.join(', ') : v;
  return out;
}

/** The release reported to Sentry: `version.json`'s version, else its commit. */
export function releaseFrom(version: Record<string, unknown>): string | undefined {
  const v = version.version ?? version.commit;
  return typeof v === 'string' && v !== '' ? v : undefined;
}
