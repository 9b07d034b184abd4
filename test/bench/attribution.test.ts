import { attribute, attributionTable, categorize, parsePerfScript, type PerfSample } from '../../bench/lib/attribution';
import { perfUnavailable, profileOptions, profileRun, profilingFlags, stopProfiled } from '../../bench/profile';
import { crashBody } from '../../bench/lib/bodies';
import { UsageError } from '../../bench/lib/options';
import { removeDataDirs, startServer } from '../../bench/lib/servers';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const main = (...frames: string[]): PerfSample => ({ pid: 7, tid: 7, frames });
const helper = (...frames: string[]): PerfSample => ({ pid: 7, tid: 9, frames });

describe('perf script output', () => {
  it('reads each sample with its process, thread and call chain, leaf first', () => {
    const text = [
      ' 6152/6152 ',
      '\t    7fe1b2dce748 Builtins_LoadIC (/opt/node/bin/node)',
      '\t    7f41d8198d05 JS:*sendStat /app/node_modules/hot-shots/lib/statsd.js:368:38 (/tmp/perf-6152.map)',
      '\t    ffffffff8100 [unknown] (/tmp/perf-6152.map)',
      '',
      ' 6152/6160     500250 ',
      '\t          1d4b4eb v8::internal::compiler::GraphReducer::ReduceTop() (/opt/node/bin/node)',
      '',
      ' 6153/6153 ',
      '',
    ].join('\n');
    expect(parsePerfScript(text)).toEqual([
      { pid: 6152, tid: 6152, frames: ['Builtins_LoadIC', 'JS:*sendStat /app/node_modules/hot-shots/lib/statsd.js:368:38', '[unknown] (/tmp/perf-6152.map)'] },
      { pid: 6152, tid: 6160, periodNs: 500250, frames: ['v8::internal::compiler::GraphReducer::ReduceTop()'] },
    ]);
  });
});

describe('categories', () => {
  it('charges a sample to the innermost frame an owner rule knows, Node code under ours included', () => {
    const handler = 'JS:*handle /app/dist/worker/breakpad/submit-handler.js:28:26';
    expect(categorize(main('Builtins_LoadIC', 'JS:*Client.sendStat /app/node_modules/hot-shots/lib/statsd.js:368:38', handler))).toBe(
      'StatsD (hot-shots, UDP)',
    );
    expect(categorize(main('do_writev', 'JS:*end node:_http_outgoing:1087:45', 'JS:*sendText /app/dist/worker/breakpad/respond.js:5:18', handler))).toBe(
      'answer (CrashID=)',
    );
    expect(
      categorize(
        main(
          'Builtins_StringIndexOf',
          'JS:*HeaderParser.push /app/node_modules/@fastify/busboy/deps/dicer/lib/HeaderParser.js:29:40',
          'JS:*onData /app/dist/worker/breakpad/read-payload.js:81:14',
        ),
      ),
    ).toBe('multipart parsing');
    expect(categorize(main('Builtins_LoadIC', handler))).toBe('collector: the rest of its code');
    expect(categorize(main('JS:* /app/bench/servers/reference.js:117:20'))).toBe('reference server code');
  });

  it('names native leaves by what they are, whoever called them', () => {
    expect(categorize(main('sha256_block_data_order_shaext', 'JS:*update node:internal/crypto/hash:132:40'))).toBe('sha256');
    expect(categorize(main('v8::internal::ScavengerCollector::CollectGarbage()', 'JS:*Client.sendStat /app/node_modules/hot-shots/lib/statsd.js:368:38'))).toBe(
      'garbage collection',
    );
    expect(categorize(helper('v8::internal::compiler::GraphReducer::ReduceTop()'))).toBe('V8 compiler (helper threads)');
    expect(categorize(helper('uv__work_done'))).toBe('other helper threads (libuv pool, platform)');
  });

  it("leaves Node's own JavaScript and the bare event loop apart", () => {
    expect(
      categorize(main('Builtins_CallFunction', 'JS:*Readable.push node:internal/streams/readable:387:35', 'JS:*parserOnBody node:_http_common:128:22')),
    ).toBe("Node's HTTP server and streams");
    expect(categorize(main('_copy_to_iter', 'tcp_recvmsg', 'uv__read', 'uv_run'))).toBe('event loop and sockets, no JavaScript on the stack');
  });
});

describe('CPU ms per crash', () => {
  it('turns samples at a rate into ms per crash by category, largest first', () => {
    const samples = [main('sha256_block'), main('sha256_block'), main('uv_run'), helper('v8::internal::compiler::X')];
    // 4 samples at 1000 Hz are 4 ms of CPU; over 2 crashes, 2 ms each.
    const a = attribute(samples, 1000, 2);
    expect(a.totalMsPerCrash).toBeCloseTo(2);
    expect(a.categories).toEqual([
      { category: 'sha256', msPerCrash: 1 },
      { category: 'event loop and sockets, no JavaScript on the stack', msPerCrash: 0.5 },
      { category: 'V8 compiler (helper threads)', msPerCrash: 0.5 },
    ]);
    expect(a.unnamedJitShare).toBe(0);
    expect(attribute([main('[unknown] (/tmp/perf-7.map)', 'uv_run'), main('uv_run')], 1000, 1).unnamedJitShare).toBe(0.5);
    expect(() => attribute(samples, 1000, 0)).toThrow(RangeError);
  });

  it("counts each sample's own period when perf gives one: a late sample carries the time it waited", () => {
    // Sampled at 1000 Hz, but the second sample came 3 ms after the first: 4 ms of CPU, not 2.
    const late = attribute(
      [
        { ...main('sha256_block'), periodNs: 1e6 },
        { ...main('sha256_block'), periodNs: 3e6 },
      ],
      1000,
      2,
    );
    expect(late.totalMsPerCrash).toBeCloseTo(2);
    expect(late.categories).toEqual([{ category: 'sha256', msPerCrash: 2 }]);
  });

  it('prints servers side by side, rows by their largest figure, with both totals', () => {
    const table = attributionTable([
      { name: 'raw-sha', attribution: attribute([main('sha256_block')], 1000, 1), procMsPerCrash: 1.1 },
      {
        name: 'noop',
        attribution: attribute([main('sha256_block'), main('JS:*handle /app/dist/worker/x.js:1:1'), main('JS:*handle /app/dist/worker/x.js:1:1')], 1000, 1),
        procMsPerCrash: 3.2,
      },
    ]);
    const lines = table.split('\n');
    expect(lines[0]).toMatch(/^CPU ms per crash\s+raw-sha\s+noop$/);
    expect(lines[1]).toMatch(/^collector: the rest of its code\s+0\.000\s+2\.000$/);
    expect(lines[2]).toMatch(/^sha256\s+1\.000\s+1\.000$/);
    expect(lines.at(-3)).toMatch(/^total \(perf samples\)\s+1\.000\s+3\.000$/);
    expect(lines.at(-2)).toMatch(/^total \(\/proc, same window\)\s+1\.100\s+3\.200$/);
    expect(lines.at(-1)).toMatch(/^samples with an unnamed JIT frame\s+0\.0 %\s+0\.0 %$/);
  });
});

describe('npm run bench:profile options', () => {
  it('profiles raw-sha beside noop, plain bodies, one connection count, unless --only says otherwise', () => {
    expect(profileOptions(['--only', '400k'], {})).toMatchObject({ servers: ['raw-sha', 'noop'], encodings: ['plain'], connections: [16], sizes: ['400k'] });
    expect(profileOptions(['--only', '4k,raw,fs,gzip,64'], {})).toMatchObject({ servers: ['raw', 'fs'], encodings: ['gzip'], connections: [64] });
    expect(profileOptions([], { BENCH_ONLY: 'raw-layout' })).toMatchObject({ servers: ['raw-layout'] });
    // Without --only, no other argument is read as its list.
    expect(profileOptions(['--workers', '2', '--duration', '3'], {})).toMatchObject({ servers: ['raw-sha', 'noop'], workers: 2, durationS: 3 });
    expect((profileOptions([], {}) as { out: string }).out).toMatch(/bench\/results\/profile\.json$/);
    expect(() => profileOptions(['--only', 'antenna', '--antenna-cmd', 'x {port}'], {})).toThrow(UsageError);
  });
});

const noPerf = perfUnavailable();
if (noPerf) console.warn(`skipping the recorded profile of raw: ${noPerf}`);

(noPerf ? describe.skip : describe)('a recorded profile', () => {
  it('names the JavaScript of a live server and adds up to what /proc counts', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'antenna-profile-test-'));
    const server = await startServer('raw', { workers: 1, collectorEnv: {}, nodeFlags: profilingFlags(dir) });
    try {
      const col = await profileRun(server, crashBody(4096, 'plain'), 4, 2, dir);
      expect(col.crashes).toBeGreaterThan(100);
      const names = col.attribution.categories.map((c) => c.category);
      // The reference server's handler was named from its perf map: JavaScript frames were resolved.
      expect(names).toContain('reference server code');
      expect(col.attribution.unnamedJitShare).toBeLessThan(0.05);
      // Both figures are CPU of the same tree over (nearly) the same window.
      expect(col.attribution.totalMsPerCrash).toBeGreaterThan(col.procMsPerCrash * 0.5);
      expect(col.attribution.totalMsPerCrash).toBeLessThan(col.procMsPerCrash * 2);
    } finally {
      await stopProfiled(server);
      rmSync(dir, { recursive: true, force: true });
    }
    // Nothing left behind: neither V8's perf maps nor its logs, nor the server's data directory.
    expect(existsSync(`/tmp/perf-${server.pid}.map`)).toBe(false);
    expect(removeDataDirs()).toHaveLength(1);
    expect(readdirSync(process.cwd()).filter((f) => /^isolate-.*-v8\.log$/.test(f))).toEqual([]);
  }, 60_000);
});
