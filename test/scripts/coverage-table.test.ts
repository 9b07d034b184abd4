import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { tempDir } from '../support/server';

const ROOT = path.resolve(__dirname, '..', '..');

interface Counts {
  covered: number;
  total: number;
}
interface Row {
  module: string;
  files: number;
  lines: Counts;
  branches: Counts;
}
// A plain CommonJS script with no types of its own.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const table = require('../../scripts/coverage-table') as {
  moduleOf(rel: string): string | null;
  moduleRows(files: Record<string, { lines: Counts; branches: Counts }>): Row[];
  formatTable(rows: Row[]): string;
  codeLines(source: string): Set<number>;
  typeOnly(js: string): boolean;
  report(dir: string): Promise<Row[]>;
};

describe('coverage table (npm run coverage)', () => {
  it('groups src/worker and src/shared by subfolder, their top-level files together, and other folders whole', () => {
    expect(table.moduleOf('src/worker/breakpad/parse.ts')).toBe('src/worker/breakpad');
    expect(table.moduleOf('src/worker/app.ts')).toBe('src/worker (files)');
    expect(table.moduleOf('src/shared/config/sections/storage.ts')).toBe('src/shared/config');
    expect(table.moduleOf('src/shared/failure.ts')).toBe('src/shared (files)');
    expect(table.moduleOf('src/primary/fleet.ts')).toBe('src/primary');
    expect(table.moduleOf('src/tools/submit.ts')).toBe('src/tools');
    expect(table.moduleOf('src/main.ts')).toBe('src (files)');
    expect(table.moduleOf('test/support/server.ts')).toBeNull();
  });

  it('sums lines and branches per module and marks the modules under 85 % lines', () => {
    const rows = table.moduleRows({
      'src/primary/a.ts': { lines: { covered: 90, total: 100 }, branches: { covered: 1, total: 2 } },
      'src/primary/b.ts': { lines: { covered: 0, total: 100 }, branches: { covered: 0, total: 0 } },
      'src/tools/c.ts': { lines: { covered: 9, total: 10 }, branches: { covered: 3, total: 4 } },
    });
    expect(rows.map((r) => [r.module, r.files, r.lines.covered, r.lines.total])).toEqual([
      ['src/primary', 2, 90, 200],
      ['src/tools', 1, 9, 10],
    ]);
    const lines = table.formatTable(rows).split('\n');
    expect(lines.find((l) => l.includes('src/primary'))).toMatch(/45\.0 % \(90\/200\).*< 85 %/);
    expect(lines.find((l) => l.includes('src/tools'))).not.toMatch(/< 85 %/);
    expect(lines.find((l) => l.includes('all of src'))).toMatch(/47\.1 % \(99\/210\)/);
  });

  it('counts code lines only: blank and comment lines are neither covered nor uncovered code', () => {
    const source = ['/**', ' * doc', ' */', 'const a = 1;', '', '  // note', 'f(a); // call', '/* x */ g();', '/* open', 'still comment */ h();'].join('\n');
    expect([...table.codeLines(source)]).toEqual([4, 7, 8, 10]);
  });

  it('leaves out modules of types only, which compile to no code', () => {
    const header = '"use strict";\nObject.defineProperty(exports, "__esModule", { value: true });\n';
    expect(table.typeOnly(`${header}//# sourceMappingURL=crash-storage.js.map`)).toBe(true);
    expect(table.typeOnly(`${header}exports.f = f;\nfunction f() { }\n//# sourceMappingURL=noop.js.map`)).toBe(false);
  });

  it('counts what a child process ran from dist/ against src/*.ts, and files nothing loaded as uncovered', async () => {
    const dir = tempDir('antenna-coverage-');
    mkdirSync(path.join(dir, 'v8'));
    const crashId = path.join(ROOT, 'dist', 'shared', 'crash-id.js');
    execFileSync(process.execPath, ['-e', `require(${JSON.stringify(crashId)}).createCrashId(new Date(), 0)`], {
      env: { PATH: process.env.PATH, NODE_V8_COVERAGE: path.join(dir, 'v8') },
    });
    jest.spyOn(console, 'log').mockImplementation(() => undefined);
    try {
      await table.report(dir);
    } finally {
      jest.mocked(console.log).mockRestore();
    }
    const { files } = JSON.parse(readFileSync(path.join(dir, 'coverage-summary.json'), 'utf8'));
    const ran = files['src/shared/crash-id.ts'];
    expect(ran.lines.covered).toBeGreaterThan(0);
    expect(ran.lines.covered).toBeLessThan(ran.lines.total); // isValidCrashId was never called
    const never = files['src/tools/submit.ts'];
    expect(never.lines.total).toBeGreaterThan(0);
    expect(never.lines.covered).toBe(0);
  });
});
