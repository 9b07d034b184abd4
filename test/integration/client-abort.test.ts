import net from 'node:net';
import { crashBody, crashParts, fakeDump } from '../support/crashes';
import { get } from '../support/http';
import { startServer, type RunningServer } from '../support/server';

let server: RunningServer;

beforeAll(async () => {
  // A body timeout far longer than the test waits: only noticing the abort can release the upload.
  server = await startServer({ WORKERS: '1', HEARTBEAT_INTERVAL: '200', BREAKPAD_BODY_TIMEOUT_SECONDS: '120' });
});
afterAll(async () => {
  await server?.stop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function inFlight(): Promise<number> {
  const text = (await get(`${server.url}/metrics`)).text;
  const line = text.split('\n').find((l) => l.startsWith('antenna_in_flight '));
  return Number(line?.split(' ')[1]);
}

describe('a client that disconnects mid-body', () => {
  it('is let go at once, not after the body timeout: logged as 499, nothing left in flight', async () => {
    const { body, contentType } = crashBody(crashParts({ ProductName: 'Test' }, { upload_file_minidump: fakeDump(200_000) }));
    const socket = net.connect(server.port, '127.0.0.1');
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    socket.write(`POST /submit HTTP/1.1\r\nHost: x\r\nContent-Type: ${contentType}\r\nContent-Length: ${body.length}\r\n\r\n`);
    socket.write(body.subarray(0, 50_000));
    for (let i = 0; i < 50 && (await inFlight()) < 1; i++) await sleep(100);
    expect(await inFlight()).toBe(1);

    socket.destroy();
    const line = await server.waitForLog(/^POST \/submit 499$/, 20_000);
    expect(line.Fields?.status).toBe(499);
    for (let i = 0; i < 100 && (await inFlight()) !== 0; i++) await sleep(100);
    expect(await inFlight()).toBe(0);

    const res = await get(`${server.url}/__heartbeat__`);
    expect(res.status).toBe(200);
  });
});
