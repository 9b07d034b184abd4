import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { sendIpc } from '../../src/shared/ipc';

const shutdown = { type: 'antenna:shutdown' } as const;

/** A child with an IPC channel that has said hello, so the channel is up. */
async function child(): Promise<ChildProcess> {
  const c = spawn(process.execPath, ['-e', "process.send('up'); setInterval(() => {}, 1000)"], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  await once(c, 'message');
  return c;
}

/**
 * Kills `c` and blocks this thread until it is surely dead, so the event loop
 * has not yet seen the channel close: `connected` is still true and the next
 * write hits a closed socket, as when a worker dies between two heartbeats.
 */
function killUnnoticed(c: ChildProcess): void {
  c.kill('SIGKILL');
  const until = Date.now() + 300;
  while (Date.now() < until) {
    /* spin */
  }
}

describe('sendIpc', () => {
  it('a peer that died unnoticed: the failed write goes to onError, never to an error event', async () => {
    const c = await child();
    const errorEvents: Error[] = [];
    c.on('error', (e) => errorEvents.push(e));
    killUnnoticed(c);
    expect(c.connected).toBe(true);
    const failed = new Promise<Error>((resolve) => expect(sendIpc(c, shutdown, resolve)).toBe(true));
    const err = (await failed) as NodeJS.ErrnoException;
    expect(['EPIPE', 'ECONNRESET']).toContain(err.code);
    await once(c, 'exit');
    expect(errorEvents).toEqual([]);
  });

  it('the same race with a plain send() emits the error event that used to kill the primary', async () => {
    const c = await child();
    killUnnoticed(c);
    const errored = once(c, 'error');
    c.send(shutdown);
    const [err] = (await errored) as [NodeJS.ErrnoException];
    expect(['EPIPE', 'ECONNRESET']).toContain(err.code);
  });

  it('a closed channel: returns false and sends nothing', async () => {
    const c = await child();
    c.kill('SIGKILL');
    await once(c, 'exit');
    const onError = jest.fn();
    expect(sendIpc(c, shutdown, onError)).toBe(false);
    await new Promise((r) => setImmediate(r));
    expect(onError).not.toHaveBeenCalled();
  });
});
