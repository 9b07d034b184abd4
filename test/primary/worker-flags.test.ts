import { workerExecArgv } from '../../src/primary/worker-flags';

const heap = (semiSpaceMb: number, initialOldSpaceMb = 0) => ({ semiSpaceMb, initialOldSpaceMb });

describe('workerExecArgv (WORKER_MAX_SEMI_SPACE_MB, WORKER_INITIAL_OLD_SPACE_MB)', () => {
  it('adds --max-semi-space-size to the primary’s own flags', () => {
    expect(workerExecArgv(heap(4), ['--enable-source-maps'])).toEqual(['--enable-source-maps', '--max-semi-space-size=4']);
  });

  it('adds --initial-old-space-size, after the semi-space flag', () => {
    expect(workerExecArgv(heap(4, 128), [])).toEqual(['--max-semi-space-size=4', '--initial-old-space-size=128']);
    expect(workerExecArgv(heap(0, 64), ['--enable-source-maps'])).toEqual(['--enable-source-maps', '--initial-old-space-size=64']);
  });

  it('0 leaves the flags as they are (V8’s default)', () => {
    const own = ['--enable-source-maps'];
    expect(workerExecArgv(heap(0, 0), own)).toBe(own);
  });

  it('an operator’s own flag wins, on the command line or in NODE_OPTIONS, each flag on its own', () => {
    expect(workerExecArgv(heap(4), ['--max-semi-space-size=32'])).toEqual(['--max-semi-space-size=32']);
    expect(workerExecArgv(heap(4), [], '--max-old-space-size=512 --max-semi-space-size=8')).toEqual([]);
    expect(workerExecArgv(heap(4, 128), ['--initial-old-space-size=16'])).toEqual(['--initial-old-space-size=16', '--max-semi-space-size=4']);
    expect(workerExecArgv(heap(4, 128), [], '--max-semi-space-size=8')).toEqual(['--initial-old-space-size=128']);
    expect(workerExecArgv(heap(4, 128), ['--initial_old_space_size=16'])).toEqual(['--initial_old_space_size=16', '--max-semi-space-size=4']);
    // --max-old-space-size is another flag: it does not stop the initial size from being set
    expect(workerExecArgv(heap(0, 128), [], '--max-old-space-size=512')).toEqual(['--initial-old-space-size=128']);
  });
});
