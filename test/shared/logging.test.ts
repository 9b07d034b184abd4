import { spawn, spawnSync } from 'node:child_process';
import path from 'node:path';
import { Writable } from 'node:stream';
import { createLogger, type RootLogger } from '../../src/shared/logging';
import type { LogLevel } from '../../src/shared/config/sections/logging';

const ROOT = path.resolve(__dirname, '../..');

function capture(level: LogLevel, localDevEnv = false): { lines: string[]; logger: RootLogger } {
  const lines: string[] = [];
  const stream = new Writable({ write: (c: Buffer, _e, cb) => (lines.push(c.toString()), cb()) });
  return { lines, logger: createLogger({ level, localDevEnv, hostname: 'host-a', stream }) };
}

describe('createLogger', () => {
  it('mozlog: one JSON object per line with the component type, severity and fields', () => {
    const { lines, logger } = capture('INFO');
    logger.child({ type: 'antenna.access' }).info('POST /submit 200', { status: 200, stack: 'at x' });
    expect(lines).toHaveLength(1);
    expect(lines[0].endsWith('\n')).toBe(true);
    expect(lines[0].trimEnd()).not.toContain('\n');
    const event = JSON.parse(lines[0]) as Record<string, unknown>;
    expect(event).toEqual(
      expect.objectContaining({ Type: 'antenna.access', Logger: 'antenna', Hostname: 'host-a', EnvVersion: '2.0', Severity: 6, Pid: process.pid }),
    );
    expect(event.Fields).toEqual({ host_id: 'host-a', message: 'POST /submit 200', status: 200, traceback: 'at x' });
  });

  it('LOCAL_DEV_ENV: a readable line', () => {
    const { lines, logger } = capture('DEBUG', true);
    logger.child({ type: 'antenna.worker' }).warn('slow', { ms: 5 });
    expect(lines).toEqual([expect.stringMatching(new RegExp(`^\\d{4}-\\d\\d-\\d\\dT\\S+Z WARN  \\[${process.pid}\\] antenna.worker: slow \\{"ms":5\\}\\n$`))]);
  });

  it('fields named type, level or message do not replace those of the line, in either format', () => {
    const moz = capture('INFO');
    moz.logger.info('the message', { type: 'x', level: 'y', message: 'z', a: 1 });
    const event = JSON.parse(moz.lines[0]) as { Type: string; Severity: number; Fields: Record<string, unknown> };
    expect([event.Type, event.Severity, event.Fields]).toEqual(['antenna', 6, { host_id: 'host-a', message: 'the message', a: 1 }]);
    const dev = capture('INFO', true);
    dev.logger.info('the message', { type: 'x', level: 'y', message: 'z', a: 1 });
    expect(dev.lines[0]).toMatch(/ INFO {2}\[\d+\] antenna: the message \{"a":1\}\n$/);
  });

  it('loggers are independent: each writes to its own writer at its own level', async () => {
    const a = capture('WARNING');
    const b = capture('DEBUG');
    a.logger.info('not at WARNING');
    a.logger.error('to a');
    b.logger.debug('to b');
    await Promise.all([a.logger.flush(), b.logger.flush()]);
    expect(a.lines.map((l) => (JSON.parse(l) as { Fields: { message: string } }).Fields.message)).toEqual(['to a']);
    expect(b.lines.map((l) => (JSON.parse(l) as { Fields: { message: string } }).Fields.message)).toEqual(['to b']);
  });
});

/** Runs a script in a child whose stdout is a pipe read by this process, with the built logger (dist/, as jest's globalSetup builds it). */
function runChild(script: string): { stdout: string; status: number | null } {
  const logging = path.join(ROOT, 'dist', 'shared', 'logging.js');
  const r = spawnSync(process.execPath, ['-e', script], {
    cwd: ROOT,
    env: { ...process.env, LOGGING: logging },
    encoding: 'utf8',
    timeout: 30_000,
    maxBuffer: 64 * 1024 * 1024,
  });
  return { stdout: r.stdout, status: r.status };
}

describe('asyncStdout', () => {
  const messages = (stdout: string) =>
    stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => (JSON.parse(l) as { Fields: { message: string } }).Fields.message);

  it('no line is lost or cut when the process exits without flushing, or past 4 MiB of backlog', () => {
    const { stdout, status } = runChild(`
      const { createLogger } = require(process.env.LOGGING);
      const logger = createLogger({ level: 'INFO', localDevEnv: false, hostname: 'h', asyncStdout: true });
      for (let i = 0; i < 30000; i++) logger.info('line ' + i); // past 4 MiB: the overflow path too
      process.exit(0);
    `);
    expect(status).toBe(0);
    const got = messages(stdout);
    expect(got).toHaveLength(30000);
    expect(new Set(got).size).toBe(30000);
  });

  it('flush() resolves once every line logged before it is out, in order', () => {
    const { stdout, status } = runChild(`
      const { createLogger } = require(process.env.LOGGING);
      const logger = createLogger({ level: 'INFO', localDevEnv: false, hostname: 'h', asyncStdout: true });
      (async () => {
        for (let i = 0; i < 5000; i++) logger.info('line ' + i);
        await logger.flush();
        const after = JSON.stringify({ Fields: { message: 'after flush' } }) + '\\n';
        for (;;) {
          try {
            require('node:fs').writeSync(1, after);
            break;
          } catch (err) {
            if (err.code !== 'EAGAIN') throw err; // stdout is a non-blocking pipe: wait for the reader
          }
        }
        setTimeout(() => process.exit(0), 50);
      })();
    `);
    expect(status).toBe(0);
    expect(messages(stdout)).toEqual([...Array.from({ length: 5000 }, (_, i) => `line ${i}`), 'after flush']);
  });

  it('a reader that stops reading never holds up the event loop, and gets every line once it reads again', async () => {
    const logging = path.join(ROOT, 'dist', 'shared', 'logging.js');
    // 20,000 lines (~2.6 MB) fill the pipe many times over; meanwhile the child counts
    // the timer turns its event loop makes in 300 ms and reports them on stderr.
    const child = spawn(
      process.execPath,
      [
        '-e',
        `
        const { createLogger } = require(process.env.LOGGING);
        const logger = createLogger({ level: 'INFO', localDevEnv: false, hostname: 'h', asyncStdout: true });
        for (let i = 0; i < 20000; i++) logger.info('line ' + i);
        let turns = 0;
        const started = Date.now();
        const tick = () => {
          turns++;
          if (Date.now() - started < 300) return setTimeout(tick, 1);
          process.stderr.write('turns ' + turns + '\\n');
          logger.flush().then(() => process.exit(0));
        };
        setTimeout(tick, 1);
      `,
      ],
      { cwd: ROOT, env: { ...process.env, LOGGING: logging }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.stdout.pause();
    // Not reading: the child has reported its turns (or it would be blocked) before we start.
    await new Promise<void>((resolve, reject) => {
      const deadline = setTimeout(() => reject(new Error(`no report from the child within 20 s; stderr: ${stderr}`)), 20_000);
      child.stderr.on('data', () => {
        if (/turns \d+/.test(stderr)) {
          clearTimeout(deadline);
          resolve();
        }
      });
    });
    let stdout = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stdout.resume();
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    await new Promise((resolve) => setImmediate(resolve));
    expect(code).toBe(0);
    // A loop blocked on the full pipe makes one turn, or none, in those 300 ms.
    expect(Number(/turns (\d+)/.exec(stderr)![1])).toBeGreaterThan(20);
    expect(messages(stdout)).toEqual(Array.from({ length: 20000 }, (_, i) => `line ${i}`));
  });
});
