import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { get, post, request } from '../support/http';
import { startServer, tempDir, type RunningServer } from '../support/server';

describe('Dockerflow endpoints', () => {
  let server: RunningServer;
  const basedir = tempDir();
  const version = { commit: 'abc123', version: '1.2.3', source: 'https://example.invalid/antenna', build: 'ci' };

  beforeAll(async () => {
    writeFileSync(path.join(basedir, 'version.json'), JSON.stringify(version));
    server = await startServer({ APP_BASEDIR: basedir });
  });
  afterAll(() => server?.stop());

  it('/__lbheartbeat__ answers 200', async () => {
    expect((await get(`${server.url}/__lbheartbeat__`)).status).toBe(200);
  });

  it('/__heartbeat__ answers 200 with no errors and the fleet', async () => {
    // Give the primary one heartbeat interval to collect reports.
    await new Promise((r) => setTimeout(r, 1500));
    const res = await get(`${server.url}/__heartbeat__`);
    expect(res.status).toBe(200);
    const body = JSON.parse(res.text);
    expect(body.errors).toEqual([]);
    expect(body.workers).toHaveLength(2);
    expect(body.save_queue_size).toBe(0);
  });

  it('/__version__ answers version.json', async () => {
    const res = await get(`${server.url}/__version__`);
    expect([res.status, JSON.parse(res.text)]).toEqual([200, version]);
  });

  it('/__broken__ is 404 unless enabled', async () => {
    expect((await get(`${server.url}/__broken__`)).status).toBe(404);
  });

  it('unknown paths are 404, wrong methods 405', async () => {
    expect((await get(`${server.url}/nope`)).status).toBe(404);
    expect((await get(`${server.url}/submit`)).status).toBe(405);
    expect((await post(`${server.url}/__lbheartbeat__`)).status).toBe(405);
    expect((await request('DELETE', `${server.url}/__version__`)).status).toBe(405);
  });
});

describe('/__broken__ when enabled, and /__version__ without version.json', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startServer({ BROKEN_ENDPOINT_ENABLED: '1', APP_BASEDIR: tempDir() });
  });
  afterAll(() => server?.stop());

  it('answers 500 without a stack trace and logs Unhandled exception', async () => {
    const res = await get(`${server.url}/__broken__`);
    expect(res.status).toBe(500);
    expect(res.text).toBe('Internal Server Error');
    expect(res.text).not.toMatch(/intentional|\n\s+at /);
    const line = await server.waitForLog(/^Unhandled exception$/);
    expect(line.Severity).toBe(3);
    expect(JSON.stringify(line.Fields)).toContain('intentional exception');
    // the worker survives
    expect((await get(`${server.url}/__lbheartbeat__`)).status).toBe(200);
  });

  it('/__version__ is {} when there is no version.json', async () => {
    const res = await get(`${server.url}/__version__`);
    expect([res.status, res.text]).toEqual([200, '{}']);
  });
});
