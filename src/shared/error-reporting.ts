import type { IncomingHttpHeaders } from 'node:http';
import type { Logger } from './logging';
import type { Metrics } from './metrics';

/**
 * The only request headers sent to Sentry: they describe the upload, never the
 * client or its credentials. An allowlist, because the headers that identify a
 * client (`Forwarded`, `True-Client-IP`, `CF-Connecting-IP`, a CDN's next
 * invention) or carry a secret (`Proxy-Authorization`, `X-Api-Key`, ...) are
 * an open set. `Host` is left out too: Sentry has the host id already.
 */
export const REPORTED_HEADERS: readonly string[] = [
  'accept',
  'accept-encoding',
  'content-encoding',
  'content-length',
  'content-type',
  'expect',
  'transfer-encoding',
  'user-agent',
];

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
  request?: Record<string, unknown> & { method?: unknown; url?: unknown; headers?: unknown };
  user?: unknown;
  exception?: { values?: Array<{ stacktrace?: { frames?: Array<{ vars?: unknown }> } }> };
  breadcrumbs?: unknown;
  extra?: unknown;
};

/**
 * Keeps only what helps to debug an error and cannot identify a client or
 * leak a secret: of the request, the method, the path (no query string, which
 * may carry a token) and the REPORTED_HEADERS; no user at all (its IP
 * address), no breadcrumbs or extra data (nothing here records them, so any
 * that appear came from somewhere unvetted), no local variables of stack
 * frames. Everything else about the request (body, cookies, environment with
 * REMOTE_ADDR, query string) is dropped by not being copied. Pure, so it is
 * unit-tested.
 */
export function scrubEvent<E extends SentryEvent>(event: E): E {
  if (event.request) {
    const { method, url, headers } = event.request;
    const kept: Record<string, unknown> = {};
    if (typeof method === 'string') kept.method = method;
    if (typeof url === 'string') kept.url = withoutQuery(url);
    if (headers && typeof headers === 'object') kept.headers = reportedHeaders(headers as Record<string, unknown>);
    event.request = kept;
  }
  delete event.user;
  delete event.breadcrumbs;
  delete event.extra;
  for (const value of event.exception?.values ?? []) {
    for (const frame of value.stacktrace?.frames ?? []) delete frame.vars;
  }
  return event;
}

function reportedHeaders(headers: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(headers).filter(([k]) => REPORTED_HEADERS.includes(k.toLowerCase())));
}

/** The URL without its query string, fragment and any `user:password@`. */
function withoutQuery(url: string): string {
  return url.split(/[?#]/, 1)[0]!.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@]*@/i, '$1');
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
