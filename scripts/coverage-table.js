#!/usr/bin/env node
// Per-module coverage of src/ from one test run, merging two sources:
//  - jest's own coverage (V8 provider, istanbul JSON) for code the tests load
//    in-process (unit tests import src/*.ts through ts-jest);
//  - raw V8 coverage (NODE_V8_COVERAGE) written by every child process the
//    tests start from dist/ (the server, its workers, the tools), mapped back
//    to src/*.ts through dist's source maps.
// Usage: node scripts/coverage-table.js [coverageDir]   (default: coverage/)
// Writes <coverageDir>/coverage-summary.json (per module and file),
// <coverageDir>/coverage-final.json (istanbul, per line: for editors and
// istanbul reporters) and prints the table.
const fs = require('node:fs');
const path = require('node:path');
const { pathToFileURL } = require('node:url');

const ROOT = path.resolve(__dirname, '..');
const THRESHOLD = 85; // lines %, the bar docs/testing.md holds every module to

/**
 * The module a source file belongs to: src/worker and src/shared split into
 * their immediate subfolders plus one module for their top-level files; any
 * other folder of src/ (primary, tools) is one module.
 */
function moduleOf(relPath) {
  const parts = relPath.split(/[\\/]/);
  if (parts[0] !== 'src') return null;
  if (parts.length === 2) return 'src (files)';
  const top = parts[1];
  if (top === 'worker' || top === 'shared') {
    return parts.length === 3 ? `src/${top} (files)` : `src/${top}/${parts[2]}`;
  }
  return `src/${top}`;
}

const pct = (covered, total) => (total === 0 ? 100 : (100 * covered) / total);

/** Rows per module from per-file {lines, branches} counts ({covered, total}), sorted by name. */
function moduleRows(files) {
  const byModule = new Map();
  for (const [rel, s] of Object.entries(files)) {
    const mod = moduleOf(rel);
    if (!mod) continue;
    const row = byModule.get(mod) ?? { module: mod, files: 0, lines: { covered: 0, total: 0 }, branches: { covered: 0, total: 0 } };
    row.files += 1;
    for (const k of ['lines', 'branches']) {
      row[k].covered += s[k].covered;
      row[k].total += s[k].total;
    }
    byModule.set(mod, row);
  }
  return [...byModule.values()].sort((a, b) => a.module.localeCompare(b.module));
}

/** A plain-text table (also valid Markdown) with a total row; modules under the bar are marked. */
function formatTable(rows) {
  const total = { module: 'all of src', files: 0, lines: { covered: 0, total: 0 }, branches: { covered: 0, total: 0 } };
  for (const r of rows) {
    total.files += r.files;
    for (const k of ['lines', 'branches']) {
      total[k].covered += r[k].covered;
      total[k].total += r[k].total;
    }
  }
  const cell = (c) => `${pct(c.covered, c.total).toFixed(1)} % (${c.covered}/${c.total})`;
  const line = (r) => {
    const under = pct(r.lines.covered, r.lines.total) < THRESHOLD ? ` < ${THRESHOLD} %` : '';
    return [r.module, String(r.files), cell(r.lines), cell(r.branches), under.trim()];
  };
  const body = [...rows.map(line), line(total)];
  const head = ['module', 'files', 'lines', 'branches', `under ${THRESHOLD} % lines`];
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const fmt = (cols) => `| ${cols.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
  return [fmt(head), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...body.map(fmt)].join('\n');
}

/** V8 dumps written by jest's own processes run src through jest's module wrapper: their offsets do not match the files on disk. */
function isJestProcess(result) {
  return result.some((s) => /[\\/]node_modules[\\/](jest-worker|jest-runner|jest-cli|@jest[\\/]core)[\\/]/.test(s.url));
}

/** Merged V8 coverage of dist/ from every child-process dump in dir. */
function childProcessCoverage(dir) {
  const { mergeProcessCovs } = require('@bcoe/v8-coverage');
  const distUrl = pathToFileURL(path.join(ROOT, 'dist')).href + '/';
  const processes = [];
  let files = 0;
  let skipped = 0;
  for (const name of fs.existsSync(dir) ? fs.readdirSync(dir) : []) {
    if (!name.endsWith('.json')) continue;
    let dump;
    try {
      dump = JSON.parse(fs.readFileSync(path.join(dir, name), 'utf8'));
    } catch {
      skipped += 1; // a process killed while writing its dump
      continue;
    }
    files += 1;
    if (!Array.isArray(dump.result) || isJestProcess(dump.result)) continue;
    const result = dump.result.filter((s) => s.url.startsWith(distUrl) && s.url.endsWith('.js'));
    if (result.length > 0) processes.push({ result });
  }
  return { merged: processes.length ? mergeProcessCovs(processes) : { result: [] }, processes: processes.length, files, skipped };
}

/** Istanbul coverage of the src/*.ts behind a dist/*.js file, from V8 functions (null: nothing ran). */
async function toIstanbul(v8ToIstanbul, file, functions) {
  const converter = v8ToIstanbul(file, 0);
  await converter.load(); // follows dist/*.js.map back to src/*.ts
  const length = fs.statSync(file).size;
  converter.applyCoverage(functions ?? [{ functionName: '', isBlockCoverage: true, ranges: [{ startOffset: 0, endOffset: length, count: 1 }] }]);
  const data = converter.toIstanbul();
  if (functions === null) {
    // The same shape as a run that loaded the file, with nothing hit.
    for (const fc of Object.values(data)) {
      for (const k of Object.keys(fc.s)) fc.s[k] = 0;
      for (const k of Object.keys(fc.f)) fc.f[k] = 0;
      for (const k of Object.keys(fc.b)) fc.b[k] = fc.b[k].map(() => 0);
    }
  }
  return data;
}

/**
 * Line numbers (1-based) that hold code: V8 coverage maps every line of a
 * source, so blank and comment-only lines would otherwise count as covered
 * (or uncovered) code.
 */
function codeLines(source) {
  const lines = new Set();
  let inComment = false;
  source.split('\n').forEach((raw, i) => {
    let text = raw.trim();
    if (inComment) {
      const end = text.indexOf('*/');
      if (end < 0) return;
      inComment = false;
      text = text.slice(end + 2).trim();
    }
    while (text.startsWith('/*')) {
      const end = text.indexOf('*/', 2);
      if (end < 0) {
        inComment = true;
        return;
      }
      text = text.slice(end + 2).trim();
    }
    if (text !== '' && !text.startsWith('//')) lines.add(i + 1);
  });
  return lines;
}

/** Drops the line statements of blank and comment-only lines from a file's coverage. */
function onlyCodeLines(fileCoverage, source) {
  const code = codeLines(source);
  const { statementMap, s } = fileCoverage.data;
  for (const k of Object.keys(statementMap)) {
    if (!code.has(statementMap[k].start.line)) {
      delete statementMap[k];
      delete s[k];
    }
  }
}

/** A module of types only compiles to no code: nothing can run it, so it is not counted. */
function typeOnly(js) {
  const code = js
    .replace(/^"use strict";$/m, '')
    .replace(/^Object\.defineProperty\(exports, "__esModule", \{ value: true \}\);$/m, '')
    .replace(/^\/\/# sourceMappingURL=.*$/m, '');
  return code.trim() === '';
}

function listFiles(dir, ext) {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir, { recursive: true })
    .map((f) => path.join(dir, String(f)))
    .filter((f) => f.endsWith(ext));
}

async function report(coverageDir = path.join(ROOT, 'coverage')) {
  const libCoverage = require('istanbul-lib-coverage');
  const v8ToIstanbul = require('v8-to-istanbul');
  const map = libCoverage.createCoverageMap({});

  const jestFile = path.join(coverageDir, 'jest', 'coverage-final.json');
  if (fs.existsSync(jestFile)) map.merge(JSON.parse(fs.readFileSync(jestFile, 'utf8')));
  else console.log(`coverage: ${path.relative(ROOT, jestFile)} is missing; only child processes are counted`);

  const children = childProcessCoverage(path.join(coverageDir, 'v8'));
  for (const script of children.merged.result) {
    const file = new URL(script.url).pathname;
    if (!fs.existsSync(file)) continue;
    const data = await toIstanbul(v8ToIstanbul, file, script.functions);
    for (const key of Object.keys(data)) if (!key.startsWith(path.join(ROOT, 'src') + path.sep)) delete data[key];
    map.merge(data);
  }

  // Files no test loaded at all: jest only sees files under its roots (test/),
  // so these count here, as zero, from their compiled form.
  const srcRoot = path.join(ROOT, 'src') + path.sep;
  const seen = new Set(map.files());
  for (const js of listFiles(path.join(ROOT, 'dist'), '.js')) {
    if (typeOnly(fs.readFileSync(js, 'utf8'))) continue;
    const data = await toIstanbul(v8ToIstanbul, js, null);
    for (const key of Object.keys(data)) if (key.startsWith(srcRoot) && !seen.has(key)) map.addFileCoverage(data[key]);
  }

  const files = {};
  for (const file of map.files()) {
    const fc = map.fileCoverageFor(file);
    onlyCodeLines(fc, fs.readFileSync(file, 'utf8'));
    const s = fc.toSummary();
    files[path.relative(ROOT, file)] = {
      lines: { covered: s.lines.covered, total: s.lines.total },
      branches: { covered: s.branches.covered, total: s.branches.total },
    };
  }
  const rows = moduleRows(files);
  fs.mkdirSync(coverageDir, { recursive: true });
  fs.writeFileSync(path.join(coverageDir, 'coverage-final.json'), JSON.stringify(map.toJSON()));
  fs.writeFileSync(path.join(coverageDir, 'coverage-summary.json'), JSON.stringify({ modules: rows, files }, null, 2) + '\n');
  console.log(
    `coverage of src/ per module (in-process jest + ${children.processes} child processes from ${children.files} V8 dumps${children.skipped ? `, ${children.skipped} unreadable` : ''}):`,
  );
  console.log(formatTable(rows));
  return rows;
}

module.exports = { moduleOf, moduleRows, formatTable, codeLines, typeOnly, report, THRESHOLD };

if (require.main === module) {
  report(process.argv[2] ? path.resolve(process.argv[2]) : undefined).catch((err) => {
    console.error(`coverage: could not build the report: ${err.stack || err}`);
    process.exit(1);
  });
}
