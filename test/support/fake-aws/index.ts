/**
 * S3 and SQS for tests: fauxqs (the npm package, in-process, on 127.0.0.1 and
 * a free port) behind a small node:http reverse proxy that records every
 * request and injects faults (fauxqs itself has no fault injection).
 *
 * The code under test talks to `url` (the proxy); the helpers here (creating
 * buckets and queues, reading objects, receiving messages) use real AWS SDK
 * clients that talk to fauxqs directly, so faults never touch them.
 *
 * Its parts: fauxqs.ts loads fauxqs (ESM-only), protocol.ts understands and
 * forwards requests, faults.ts injects failures, store.ts reads and seeds
 * fauxqs; this file runs the proxy that ties them together.
 */
import http from 'node:http';
import type { Socket } from 'node:net';
import { AwsFaults } from './faults';
import { loadFauxqs } from './fauxqs';
import { describeRequest, forward } from './protocol';
import { storeView } from './store';
import { FAKE_ACCESS_KEY, FAKE_REGION, FAKE_SECRET, type FakeAws, type FakeAwsRequest } from './types';

export { FAKE_ACCESS_KEY, FAKE_REGION, FAKE_SECRET } from './types';
export type { FailOptions, FakeAws, FakeAwsRequest, ReceivedMessage } from './types';

export async function startFakeAws(): Promise<FakeAws> {
  const { buildApp } = await loadFauxqs();
  const app = buildApp({ logger: false });
  const fauxqsUrl = (await app.listen({ port: 0, host: '127.0.0.1' })).replace('localhost', '127.0.0.1');
  const upstream = { url: new URL(fauxqsUrl), agent: new http.Agent({ keepAlive: false }) };
  const requests: FakeAwsRequest[] = [];
  const faults = new AwsFaults();
  const sockets = new Set<Socket>();

  const proxy = http.createServer((req, res) => {
    const entry = describeRequest(req);
    requests.push(entry);
    faults.admit(req, res, entry, () => forward(upstream, req, res, entry));
  });
  proxy.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    proxy.once('error', reject);
    proxy.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (proxy.address() as { port: number }).port;
  const url = `http://127.0.0.1:${port}`;
  const { destroy: destroyClients, ...store } = storeView(fauxqsUrl);

  return {
    url,
    port,
    fauxqsUrl,
    region: FAKE_REGION,
    requests,
    requestsFor: (bucket, key) => requests.filter((r) => r.service === 's3' && r.bucket === bucket && r.key === key),
    ...store,
    failNext: (n, opts) => faults.failNext(n, opts),
    setLatency: (ms) => faults.setLatency(ms),
    dropNextConnections: (n) => faults.dropNextConnections(n),
    hold: (match) => faults.hold(match),
    setDown: (opts) => faults.setDown(opts),
    storageEnv: (bucket, extra = {}) => storageEnv(url, bucket, extra),
    publishEnv: (queue, extra = {}) => publishEnv(url, queue, extra),
    async stop() {
      faults.stop();
      destroyClients();
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => proxy.close(() => resolve()));
      upstream.agent.destroy();
      await app.close();
    },
  };
}

/** Environment for loadConfig: s3 storage on the fake at `url` (dummy credentials, region, endpoint, path style). */
function storageEnv(url: string, bucket: string, extra: Record<string, string>): Record<string, string> {
  return {
    CRASHMOVER_CRASHSTORAGE_CLASS: 's3',
    CRASHMOVER_CRASHSTORAGE_BUCKET_NAME: bucket,
    CRASHMOVER_CRASHSTORAGE_REGION: FAKE_REGION,
    CRASHMOVER_CRASHSTORAGE_ENDPOINT_URL: url,
    CRASHMOVER_CRASHSTORAGE_FORCE_PATH_STYLE: 'true',
    CRASHMOVER_CRASHSTORAGE_ACCESS_KEY: FAKE_ACCESS_KEY,
    CRASHMOVER_CRASHSTORAGE_SECRET_ACCESS_KEY: FAKE_SECRET,
    ...extra,
  };
}

/** Environment for loadConfig: sqs publishing on the fake at `url`. */
function publishEnv(url: string, queue: string, extra: Record<string, string>): Record<string, string> {
  return {
    CRASHMOVER_CRASHPUBLISH_CLASS: 'sqs',
    CRASHMOVER_CRASHPUBLISH_QUEUE_NAME: queue,
    CRASHMOVER_CRASHPUBLISH_REGION: FAKE_REGION,
    CRASHMOVER_CRASHPUBLISH_ENDPOINT_URL: url,
    CRASHMOVER_CRASHPUBLISH_ACCESS_KEY: FAKE_ACCESS_KEY,
    CRASHMOVER_CRASHPUBLISH_SECRET_ACCESS_KEY: FAKE_SECRET,
    ...extra,
  };
}
