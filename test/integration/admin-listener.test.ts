import { readFileSync } from 'node:fs';
import net from 'node:net';
import { get, post } from '../support/http';
import { replaceDirWithFile, spawnServer, startServer, type RunningServer } from '../support/server';
import { waitFor } from '../support/wait';
import { selfSignedCertificate } from '../support/tls';

/** The admin listener's URL, from the line each worker logs once it listens there. */
async function adminUrl(server: RunningServer): Promise<string> {
  const line = await server.waitForLog(/serves the admin endpoints on http:\/\//);
  const port = /serves the admin endpoints on http:\/\/127\.0\.0\.1:(\d+)/.exec(line.Fields!.message!)![1];
  return `http://127.0.0.1:${port}`;
}

async function heartbeat503(url: string): Promise<{ errors: Array<{ name: string; msg: string }>; [k: string]: unknown }> {
  let body = '';
  await waitFor(`503 from ${url}/__heartbeat__`, async () => {
    const res = await get(`${url}/__heartbeat__`);
    body = res.text;
    return res.status === 503;
  });
  return JSON.parse(body);
}

const FAST_HEALTH = { HEALTH_CHECK_INTERVAL: '1', HEALTH_CHECK_TIMEOUT: '1', HEARTBEAT_INTERVAL: '200' };

describe('ADMIN_PORT', () => {
  let server: RunningServer;
  let admin: string;

  beforeAll(async () => {
    server = await startServer({ WORKERS: '2', ADMIN_PORT: '0', BROKEN_ENDPOINT_ENABLED: '1', ...FAST_HEALTH });
    admin = await adminUrl(server);
  });
  afterAll(() => server?.stop());

  it('serves /metrics on the admin listener only', async () => {
    expect(admin).not.toBe(server.url);
    const pub = await get(`${server.url}/metrics`);
    expect([pub.status, pub.text]).toEqual([404, 'Not Found']);
    const res = await get(`${admin}/metrics`);
    expect(res.status).toBe(200);
    expect(res.text).toMatch(/^antenna_crashes_received_total /m);
  });

  it('keeps /__lbheartbeat__ and /__version__ on both; /submit and /__broken__ only on PORT', async () => {
    for (const url of [server.url, admin]) {
      expect((await get(`${url}/__lbheartbeat__`)).status).toBe(200);
      expect((await get(`${url}/__version__`)).status).toBe(200);
    }
    expect((await post(`${admin}/submit`, { headers: { 'Content-Length': 0 } })).status).toBe(404);
    expect((await post(`${server.url}/submit`, { headers: { 'Content-Length': 0 } })).status).toBe(400);
    expect((await get(`${admin}/__broken__`)).status).toBe(404);
    expect((await get(`${server.url}/__broken__`)).status).toBe(500);
  });

  it('public /__heartbeat__ keeps the status and the failing check, without its message; the admin one has the details', async () => {
    const healthy = await get(`${server.url}/__heartbeat__`);
    expect([healthy.status, JSON.parse(healthy.text)]).toEqual([200, { errors: [] }]);

    replaceDirWithFile(server.fsRoot);
    const pub = await heartbeat503(server.url);
    expect(pub).toEqual({ errors: [{ name: 'FSCrashStorage', msg: 'unhealthy; details on the admin listener' }] });

    const detailed = await heartbeat503(admin);
    expect(detailed.errors).toEqual([{ name: 'FSCrashStorage', msg: expect.stringContaining(server.fsRoot) }]);
    expect(detailed).toHaveProperty('workers');
    expect(detailed).toHaveProperty('save_queue_size');
  });

  it('SIGTERM closes both listeners and exits 0', async () => {
    expect(await server.stop()).toEqual({ code: 0, signal: null });
    await expect(get(`${admin}/__lbheartbeat__`)).rejects.toThrow(/ECONNREFUSED/);
  });
});

describe('without ADMIN_PORT (Antenna-compatible default)', () => {
  it('serves /metrics and the detailed /__heartbeat__ on PORT; METRICS_PUBLIC=1 with ADMIN_PORT keeps /metrics public', async () => {
    const plain = await startServer({ WORKERS: '1', ...FAST_HEALTH });
    const both = await startServer({ WORKERS: '1', ADMIN_PORT: '0', METRICS_PUBLIC: '1' });
    try {
      expect(plain.logs.some((l) => /admin endpoints/.test(l.raw))).toBe(false);
      expect((await get(`${plain.url}/metrics`)).status).toBe(200);
      replaceDirWithFile(plain.fsRoot);
      const detailed = await heartbeat503(plain.url);
      expect(detailed.errors).toEqual([{ name: 'FSCrashStorage', msg: expect.stringContaining(plain.fsRoot) }]);
      expect(detailed).toHaveProperty('workers');

      expect((await get(`${both.url}/metrics`)).status).toBe(200);
      expect((await get(`${await adminUrl(both)}/metrics`)).status).toBe(200);
    } finally {
      await Promise.all([plain.stop(), both.stop()]);
    }
  });
});

describe('ADMIN_PORT taken', () => {
  it('stops the start before forking, naming ADMIN_HOST and ADMIN_PORT, instead of running without the admin listener', async () => {
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      const server = spawnServer({ WORKERS: '1', ADMIN_PORT: String(port), CRASH_LOOP_DEATHS: '2', CRASH_LOOP_WINDOW: '60' });
      const { code } = await server.exited;
      expect(code).toBe(1);
      const line = await server.waitForLog(/^Unhandled startup exception/);
      expect(line.Fields!.message).toContain(
        `cannot listen on ADMIN_HOST=127.0.0.1 ADMIN_PORT=${port} (EADDRINUSE): stop the process that holds it or set ADMIN_PORT to a free port`,
      );
      expect(server.logs.some((l) => /forking/.test(l.raw))).toBe(false);
    } finally {
      blocker.close();
    }
  });
});

describe('ADMIN_PORT with TLS_CERT_FILE', () => {
  it('serves HTTPS on PORT and plain HTTP on the admin listener', async () => {
    const tls = selfSignedCertificate();
    if (!tls) {
      console.warn('skipped: openssl is not available to make a self-signed certificate');
      return;
    }
    const { cert, key } = tls;
    const server = await startServer({ WORKERS: '1', TLS_CERT_FILE: cert, TLS_KEY_FILE: key, ADMIN_PORT: '0' });
    try {
      expect(server.url.startsWith('https://')).toBe(true);
      expect((await get(`${server.url}/__lbheartbeat__`, { ca: readFileSync(cert) })).status).toBe(200);
      expect((await get(`${await adminUrl(server)}/metrics`)).status).toBe(200);
    } finally {
      await server.stop();
    }
  });
});
