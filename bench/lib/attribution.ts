/**
 * Where a server's CPU goes, from `perf record -g -e cpu-clock` samples of its
 * whole process tree. cpu-clock samples only a thread that is on a CPU, so
 * unlike V8's own profiler (which samples wall-clock time and charges a
 * preempted thread to the frame it stopped in) the shares add up to nearly
 * the CPU the bench's /proc meter counts, kernel time, other threads and
 * native code included: within 1 % for noop and raw-sha, 2–6 % less for the
 * servers that fsync (bench/README.md).
 */

/** One sample: its process and thread, and its call chain from the leaf up. */
export interface PerfSample {
  pid: number;
  tid: number;
  /**
   * CPU ns since the thread's previous sample (perf's `period`). A sample
   * the timer delivered late carries the longer period, so summing periods
   * counts that time where counting samples would lose it.
   */
  periodNs?: number;
  /** Symbol text of each frame, leaf first (`JS:*name file:line:col` for JIT code with --perf-basic-prof). */
  frames: string[];
}

const HEADER = /^\s*(\d+)\/(\d+)(?:\s+(\d+))?\s*$/;
const FRAME = /^\s+[0-9a-f]+\s+(.*?)(?:\s+\(([^()]*)\))?\s*$/;

/** Reads `perf script -F pid,tid[,period],ip,sym,dso` output (call chains on, blank line between samples). */
export function parsePerfScript(text: string): PerfSample[] {
  const samples: PerfSample[] = [];
  let current: PerfSample | undefined;
  for (const line of text.split('\n')) {
    const head = HEADER.exec(line);
    if (head && !line.startsWith('\t')) {
      current = { pid: Number(head[1]), tid: Number(head[2]), frames: [] };
      if (head[3] !== undefined) current.periodNs = Number(head[3]);
      samples.push(current);
      continue;
    }
    const frame = current && FRAME.exec(line);
    if (frame) current!.frames.push(frame[2] && frame[1] === '[unknown]' ? `[unknown] (${frame[2]})` : frame[1]!);
  }
  return samples.filter((s) => s.frames.length > 0);
}

/** What a category is made of: the first frame, leaf first, that matches a rule's pattern decides. */
interface Rule {
  category: string;
  pattern: RegExp;
}

/** Native work that is what it is whatever JavaScript called it. */
const LEAF_RULES: readonly Rule[] = [
  { category: 'sha256', pattern: /sha256/ },
  {
    category: 'garbage collection',
    pattern:
      /v8::internal::(Heap|Scavenger|ScavengerCollector|MarkCompact|Sweeper|MinorMarkSweep|ConcurrentMarking|IncrementalMarking|MarkingVisitor|Evacuat)|GarbageCollect/,
  },
  { category: 'V8 compiler', pattern: /v8::internal::(compiler|maglev|baseline)::|Compile(Lazy|Optimized)|OptimizingCompile/ },
];

/** Owners by the JavaScript on the stack: the innermost frame that matches one. */
const OWNER_RULES: readonly Rule[] = [
  { category: 'sha256', pattern: /node:internal\/crypto\/hash/ },
  { category: 'StatsD (hot-shots, UDP)', pattern: /hot-shots|metrics\/statsd\.js|node:dgram|node:internal\/dgram/ },
  { category: 'Prometheus (prom-client)', pattern: /prom-client|metrics\/prometheus\.js/ },
  { category: 'logging', pattern: /winston|logform|readable-stream|shared\/logging\.js|shared\/log-writers\.js|worker\/access-log\.js/ },
  { category: 'multipart parsing', pattern: /@fastify\/busboy|breakpad\/multipart-reader\.js/ },
  { category: 'answer (CrashID=)', pattern: /breakpad\/respond\.js/ },
  { category: 'payload, raw crash, gunzip', pattern: /breakpad\/(payload-parts|read-payload|raw-crash|body-buffers|gzip-body|sync-gunzip)\.js/ },
  { category: 'collector: the rest of its code', pattern: /\/dist\/(worker|shared|primary)\// },
  { category: 'reference server code', pattern: /bench\/servers\// },
];

/** JavaScript no owner rule claims: Node's own, run by the event loop for the server (the request's parsing and streams). */
const NODE_JS = /^JS:/;

/**
 * The category of one sample. Threads other than a process's main thread are
 * V8's compiler and GC helpers and libuv's pool; on the main thread, native
 * leaves that are GC or compiling count as such; then the innermost frame
 * an owner rule knows decides, so what Node does when our code calls it
 * (the answer's `writev` under `sendText`) is charged to our code; then any
 * other JavaScript is Node's (its HTTP parser and streams); and samples with
 * no JavaScript on the stack are the event loop's own work (reading
 * sockets, epoll), mostly in the kernel.
 */
export function categorize(sample: PerfSample): string {
  const leafRule = LEAF_RULES.find((r) => r.pattern.test(sample.frames[0] ?? ''));
  if (sample.pid !== sample.tid) return leafRule ? `${leafRule.category} (helper threads)` : 'other helper threads (libuv pool, platform)';
  if (leafRule) return leafRule.category;
  for (const frame of sample.frames) {
    const rule = OWNER_RULES.find((r) => r.pattern.test(frame));
    if (rule) return rule.category;
  }
  if (sample.frames.some((f) => NODE_JS.test(f))) return "Node's HTTP server and streams";
  return 'event loop and sockets, no JavaScript on the stack';
}

export interface Attribution {
  /** CPU ms per crash of every sample. */
  totalMsPerCrash: number;
  /** CPU ms per crash by category, largest first. */
  categories: { category: string; msPerCrash: number }[];
  samples: number;
  /**
   * Share of samples with a JIT frame perf could not name (its
   * /tmp/perf-<pid>.map gone or not written): those fall to coarser
   * categories, so a share above a few % makes the table unreliable.
   */
  unnamedJitShare: number;
}

const UNNAMED_JIT = /^\[unknown\] \(\/tmp\/perf-\d+\.map\)$/;

/**
 * Samples taken at `hz` while the server answered `crashes`, as CPU ms per
 * crash by category: each sample counts its period, or 1/hz s without one.
 */
export function attribute(samples: PerfSample[], hz: number, crashes: number): Attribution {
  if (!(hz > 0) || !(crashes > 0)) throw new RangeError(`attribute: needs a sampling rate and crashes (got ${hz} Hz, ${crashes} crashes)`);
  const nsByCategory = new Map<string, number>();
  let totalNs = 0;
  let unnamed = 0;
  for (const s of samples) {
    const c = categorize(s);
    const ns = s.periodNs ?? 1e9 / hz;
    nsByCategory.set(c, (nsByCategory.get(c) ?? 0) + ns);
    totalNs += ns;
    if (s.frames.some((f) => UNNAMED_JIT.test(f))) unnamed++;
  }
  const msPerCrash = (ns: number) => ns / 1e6 / crashes;
  return {
    totalMsPerCrash: msPerCrash(totalNs),
    categories: [...nsByCategory]
      .map(([category, ns]) => ({ category, msPerCrash: msPerCrash(ns) }))
      .sort((a, b) => b.msPerCrash - a.msPerCrash || a.category.localeCompare(b.category)),
    samples: samples.length,
    unnamedJitShare: samples.length ? unnamed / samples.length : 0,
  };
}

/** One server's attribution over one load run, beside the /proc figure of the same window. */
export interface ServerAttribution {
  name: string;
  attribution: Attribution;
  procMsPerCrash: number;
}

/** A table of categories (rows) by server (columns), CPU ms per crash, with each server's total and its /proc figure. */
export function attributionTable(columns: ServerAttribution[]): string {
  const order: string[] = [];
  for (const col of columns) for (const { category } of col.attribution.categories) if (!order.includes(category)) order.push(category);
  const value = (col: (typeof columns)[number], category: string) => col.attribution.categories.find((c) => c.category === category)?.msPerCrash ?? 0;
  order.sort((a, b) => Math.max(...columns.map((c) => value(c, b))) - Math.max(...columns.map((c) => value(c, a))));
  const width = Math.max(...order.map((c) => c.length), 'CPU ms per crash'.length);
  const cell = (s: string) => s.padStart(Math.max(10, ...columns.map((c) => c.name.length)));
  const lines = [`${'CPU ms per crash'.padEnd(width)} ${columns.map((c) => cell(c.name)).join(' ')}`];
  for (const category of order) lines.push(`${category.padEnd(width)} ${columns.map((c) => cell(value(c, category).toFixed(3))).join(' ')}`);
  lines.push(`${'total (perf samples)'.padEnd(width)} ${columns.map((c) => cell(c.attribution.totalMsPerCrash.toFixed(3))).join(' ')}`);
  lines.push(`${'total (/proc, same window)'.padEnd(width)} ${columns.map((c) => cell(c.procMsPerCrash.toFixed(3))).join(' ')}`);
  lines.push(
    `${'samples with an unnamed JIT frame'.padEnd(width)} ${columns.map((c) => cell(`${(100 * c.attribution.unnamedJitShare).toFixed(1)} %`)).join(' ')}`,
  );
  return lines.join('\n');
}
