import { workerExecArgv } from '../../src/primary/worker-flags';

describe('workerExecArgv (WORKER_MAX_SEMI_SPACE_MB)', () => {
  it('adds --max-semi-space-size to the primary’s own flags', () => {
    expect(workerExecArgv(4, ['--enable-source-maps'])).toEqual(['--enable-source-maps', '--max-semi-space-size=4']);
  });

  it('0 leaves the flags as they are (V8’s default)', () => {
    const own = ['--enable-source-maps'];
    expect(workerExecArgv(0, own)).toBe(own);
  });

  it('an operator’s own flag wins, on the command line or in NODE_OPTIONS', () => {
    expect(workerExecArgv(4, ['--max-semi-space-size=32'])).toEqual(['--max-semi-space-size=32']);
    expect(workerExecArgv(4, [], '--max-old-space-size=512 --max-semi-space-size=8')).toEqual([]);
  });
});
