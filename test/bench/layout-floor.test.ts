import http from 'node:http';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { parseOptions } from '../../bench/lib/options';
import { computeRatios, evaluateTargets } from '../../bench/lib/report';
import { verifyFsCrashes } from '../../bench/lib/verify';
import { benchServers } from './bench-servers';
import { runRecord } from './run-record';

function post(url: string, body: Buffer): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${url}/submit`, { method: 'POST', headers: { 'Content-Length': String(body.length) } }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('raw-layout, the floor of fs storage', () => {
  it('runs only when --only names it, between raw-durable and fs', () => {
    expect(parseOptions([], {}, '/r')).toMatchObject({ servers: ['raw', 'noop', 'raw-durable', 'fs'] });
    expect(parseOptions(['--only', 'fs,raw-layout,raw-durable'], {}, '/r')).toMatchObject({ servers: ['raw-durable', 'raw-layout', 'fs'] });
  });

  it('is printed, as its own ratio to raw-durable, beside the fs ratio target of the same load point', () => {
    const at = (server: 'fs' | 'raw-durable' | 'raw-layout', crashesPerS: number) => runRecord(server, undefined, { size: '400k', crashesPerS });
    const runs = [at('raw-durable', 1000), at('raw-layout', 520), at('fs', 450)];
    computeRatios(runs);
    const fs = evaluateTargets(runs).find((t) => t.name.startsWith('400 KB: fs'))!;
    expect(fs.details).toEqual(['FAIL 400 KB plain 16 conns: 0.45 (450 vs 1000 crashes/s); raw-layout (the layout alone) 0.52']);
  });

  describe('the server', () => {
    const servers = benchServers();

    it('acknowledges a body only once it is stored in fs storage layout, with no temporary file left', async () => {
      const server = await servers.start('raw-layout', 1);
      const body = Buffer.alloc(300_000, 7);
      const ids: string[] = [];
      for (let i = 0; i < 3; i++) {
        const res = await post(server.url, body);
        expect(res.status).toBe(200);
        ids.push(/^CrashID=bp-(\S+)\n$/.exec(res.text)![1]);
      }
      expect(await verifyFsCrashes(server.dataDir!, ids, body.length)).toEqual({ acknowledged: 3, complete: 3, missing: [] });
      const rawDir = path.join(server.dataDir!, 'v1', 'raw_crash', `20${ids[0].slice(-6)}`);
      expect((await readdir(rawDir)).sort()).toEqual([...ids].sort());
    }, 30_000);
  });
});
