import { crashBody, crashFiles, crashIdFrom, crashParts, fakeDump } from '../support/crashes';
import { get, post } from '../support/http';
import { startServer, type RunningServer } from '../support/server';

// CRASHMOVER_CRASHSTORAGE_CLASS=noop (benchmarks, collectors that only count):
// crashes are answered as accepted and nothing is written anywhere.
describe('noop storage', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startServer({ CRASHMOVER_CRASHSTORAGE_CLASS: 'noop', WORKERS: '1' });
  });
  afterAll(() => server?.stop());

  it('answers a crash with its CrashID, keeps nothing, and stays healthy', async () => {
    const { body, contentType } = crashBody(crashParts({ ProductName: 'Firefox', Version: '1.0' }, { upload_file_minidump: fakeDump(1000) }));
    const res = await post(`${server.url}/submit`, { headers: { 'Content-Type': contentType, 'Content-Length': body.length }, body });
    expect(res.status).toBe(200);
    const crashId = crashIdFrom(res.text);
    await server.waitForLog(new RegExp(`${crashId} saved`));
    expect(crashFiles(server.fsRoot)).toEqual([]);
    const heartbeat = await get(`${server.url}/__heartbeat__`);
    expect(heartbeat.status).toBe(200);
    expect(JSON.parse(heartbeat.text).errors).toEqual([]);
  });
});
