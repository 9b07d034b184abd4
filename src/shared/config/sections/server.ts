import os from 'node:os';
import { bool, int, optionalInt, optionalStr, str } from '../option';

/** HTTP server, process and environment options. */
export const serverOptions = {
  host: str({ env: 'HOST', default: '0.0.0.0', doc: 'Address the workers listen on.', expected: 'an IP address or host name' }),
  port: int({ env: 'PORT', default: 8000, min: 0, max: 65535, doc: 'TCP port the workers listen on (0 picks a free port).' }),
  adminPort: optionalInt({
    env: 'ADMIN_PORT',
    min: 0,
    max: 65535,
    doc: 'TCP port of the admin listener (plain HTTP on `ADMIN_HOST`), which serves `/metrics` and the detailed `/__heartbeat__` (backend messages, spool, workers). When set, `PORT` answers 404 to `/metrics` (unless `METRICS_PUBLIC`) and its `/__heartbeat__` keeps the status code but names only the failing checks. Unset: everything on `PORT`, as Antenna. See docs/security.md.',
  }),
  adminHost: str({
    env: 'ADMIN_HOST',
    default: '127.0.0.1',
    doc: 'Address the admin listener (`ADMIN_PORT`) binds to. Keep it on loopback or a private network: it has no authentication.',
    expected: 'an IP address or host name',
  }),
  hostname: str({
    env: 'HOSTNAME',
    default: os.hostname(),
    defaultDoc: "the machine's host name",
    doc: 'Host id used in logs (`host_id`), metrics tags (`host:`) and error reports.',
  }),
  localDevEnv: bool({
    env: 'LOCAL_DEV_ENV',
    default: false,
    doc: 'Local development mode: readable log lines instead of JSON, and `/__broken__` enabled.',
  }),
  brokenEndpointEnabled: bool({
    env: 'BROKEN_ENDPOINT_ENABLED',
    default: false,
    doc: 'Serve `/__broken__` (raises an unhandled error, to test error reporting) outside local development.',
  }),
  basedir: str({
    env: 'APP_BASEDIR',
    default: '.',
    doc: 'Base directory of the app; `version.json` is read from here for `/__version__`.',
    expected: 'a directory path',
  }),
  keepAliveTimeoutMs: int({
    env: 'HTTP_KEEPALIVE_TIMEOUT_MS',
    default: 5000,
    min: 0,
    doc: 'How long an idle keep-alive connection stays open (ms). Keep it above the load balancer idle timeout ordering you need.',
  }),
  headersTimeoutMs: int({
    env: 'HTTP_HEADERS_TIMEOUT_MS',
    default: 20000,
    min: 1000,
    doc: 'Time allowed to receive the request headers (ms); slower clients are disconnected.',
  }),
  requestTimeoutMs: int({
    env: 'HTTP_REQUEST_TIMEOUT_MS',
    default: 600000,
    min: 0,
    doc: 'Upper bound on the time to receive a whole request (ms; 0 = none). The idle limit is `BREAKPAD_BODY_TIMEOUT_SECONDS`, the rate limit `BREAKPAD_MIN_BODY_RATE`.',
  }),
  maxConnectionsPerWorker: int({
    env: 'MAX_CONNECTIONS_PER_WORKER',
    default: 1000,
    min: 0,
    doc: "Open connections one worker keeps (0 = no limit). Past it the worker closes new connections at once (Node's `server.maxConnections`), health probes included, so it is sized far above normal use: uploads a worker holds are bounded by `BREAKPAD_WORKER_MEMORY_BUDGET`, idle keep-alive connections by `HTTP_KEEPALIVE_TIMEOUT_MS`, and slow ones by the header, idle and rate timeouts. It bounds the file descriptors and memory a connection flood can take.",
  }),
  tlsCertFile: optionalStr({ env: 'TLS_CERT_FILE', doc: 'PEM certificate chain: with `TLS_KEY_FILE`, workers serve HTTPS.', expected: 'a file path' }),
  tlsKeyFile: optionalStr({ env: 'TLS_KEY_FILE', doc: 'PEM private key for `TLS_CERT_FILE`.', expected: 'a file path' }),
};
