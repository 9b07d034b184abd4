import { readFileSync, writeFileSync } from 'node:fs';
import type { SizeName } from './options';
import type { RunRecord } from './report';
import { SERVER_KINDS, type ServerKind } from './servers';

const SIZES: readonly SizeName[] = ['4k', '400k', '4m'];
const SIZE_TITLE: Record<SizeName, string> = { '4k': '4 KB crashes', '400k': '400 KB crashes', '4m': '4 MB crashes' };
const COLOR: Record<ServerKind, string> = {
  raw: '#9e9e9e',
  'raw-sha': '#bdbdbd',
  noop: '#1f77b4',
  'raw-durable': '#d0d0d0',
  'raw-layout': '#a5d6a7',
  fs: '#2ca02c',
  antenna: '#ff7f0e',
};
const LABEL: Record<ServerKind, string> = {
  raw: 'raw (reads the body)',
  'raw-sha': 'raw-sha (+ sha256)',
  noop: 'collector, noop storage',
  'raw-durable': 'raw-durable (+ 1 file, fsync)',
  'raw-layout': 'raw-layout (+ 3 files, 2 commits)',
  fs: 'collector, fs storage',
  antenna: "Mozilla's Antenna (noop storage)",
};

const BAR = 14;
const GROUP_GAP = 16;
const PANEL_GAP = 40;
const PLOT_H = 220;
const TOP = 90;
const LEFT = 56;
/** The legend: text starts this far right of its swatch; ~px per character at 11 px; rows this far apart. */
const LEGEND_TEXT_DX = 14;
const LEGEND_CHAR_W = 6.5;
const LEGEND_ROW_H = 16;

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/**
 * A bar chart of crashes/s (log scale) for every run: one panel per body
 * size, one group per encoding × connections, one bar per server, with the
 * collector ÷ reference ratio above each collector bar. Plain SVG, no fonts
 * or scripts to load, so it renders on GitHub as it is.
 */
export function renderChart(runs: readonly RunRecord[], title: string): string {
  const servers = SERVER_KINDS.filter((s) => runs.some((r) => r.server === s));
  const sizes = SIZES.filter((s) => runs.some((r) => r.size === s));
  const groupsOf = (size: SizeName) => {
    const keys = new Map<string, { encoding: string; connections: number }>();
    for (const r of runs) if (r.size === size) keys.set(`${r.encoding} ${r.connections}`, { encoding: r.encoding, connections: r.connections });
    return [...keys.values()];
  };
  const best = Math.max(10, ...runs.map((r) => r.crashesPerS));
  const decades = Math.ceil(Math.log10(best));
  const y = (v: number) => TOP + PLOT_H - (Math.log10(Math.max(v, 1)) / decades) * PLOT_H;
  const groupW = servers.length * BAR + GROUP_GAP;

  const parts: string[] = [];
  let x = LEFT;
  for (const size of sizes) {
    const groups = groupsOf(size);
    const panelW = groups.length * groupW;
    parts.push(`<text x="${x + panelW / 2}" y="${TOP - 34}" text-anchor="middle" font-weight="bold">${SIZE_TITLE[size]}</text>`);
    groups.forEach((g, gi) => {
      const gx = x + gi * groupW;
      servers.forEach((server, si) => {
        const run = runs.find((r) => r.size === size && r.server === server && r.encoding === g.encoding && r.connections === g.connections);
        if (!run) return;
        const bx = gx + si * BAR;
        const top = y(run.crashesPerS);
        parts.push(
          `<rect x="${bx}" y="${top.toFixed(1)}" width="${BAR - 2}" height="${(TOP + PLOT_H - top).toFixed(1)}" fill="${COLOR[server]}"><title>${esc(
            `${server} ${size} ${g.encoding} ${g.connections} conns: ${run.crashesPerS.toFixed(1)} crashes/s`,
          )}</title></rect>`,
        );
        if (run.ratio !== undefined) {
          parts.push(
            `<text x="${bx + (BAR - 2) / 2}" y="${(top - 4).toFixed(1)}" font-size="9" text-anchor="start" transform="rotate(-90 ${bx + (BAR - 2) / 2} ${(top - 4).toFixed(1)})">${run.ratio.toFixed(2)}</text>`,
          );
        }
      });
      const cx = gx + (servers.length * BAR) / 2;
      parts.push(`<text x="${cx}" y="${TOP + PLOT_H + 14}" font-size="10" text-anchor="middle">${g.encoding}</text>`);
      parts.push(`<text x="${cx}" y="${TOP + PLOT_H + 26}" font-size="10" text-anchor="middle">${g.connections} conns</text>`);
    });
    x += panelW + PANEL_GAP;
  }
  // The legend takes columns wide enough for its longest label and wraps
  // into rows, widening a narrow chart to one column.
  const legendColW = Math.ceil(LEGEND_TEXT_DX + Math.max(...servers.map((s) => LABEL[s].length)) * LEGEND_CHAR_W) + 16;
  const width = Math.max(x - PANEL_GAP + 10, LEFT + legendColW);
  const legendPerRow = Math.max(1, Math.floor((width - LEFT) / legendColW));

  const grid: string[] = [];
  for (let d = 0; d <= decades; d++) {
    const gy = y(10 ** d);
    grid.push(`<line x1="${LEFT - 4}" x2="${width - 10}" y1="${gy}" y2="${gy}" stroke="#e5e5e5"/>`);
    grid.push(`<text x="${LEFT - 8}" y="${gy + 4}" font-size="10" text-anchor="end">${(10 ** d).toLocaleString('en-US')}</text>`);
  }
  const legendY = TOP + PLOT_H + 48;
  const legend = servers.map((s, i) => {
    const lx = LEFT + (i % legendPerRow) * legendColW;
    const ly = legendY + Math.floor(i / legendPerRow) * LEGEND_ROW_H;
    return `<rect x="${lx}" y="${ly - 9}" width="10" height="10" fill="${COLOR[s]}"/><text x="${lx + LEGEND_TEXT_DX}" y="${ly}" font-size="11">${esc(LABEL[s])}</text>`;
  });
  const height = legendY + Math.max(0, Math.ceil(servers.length / legendPerRow) - 1) * LEGEND_ROW_H + 12;
  return (
    [
      `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
      `<rect width="100%" height="100%" fill="#fff"/>`,
      `<text x="${LEFT}" y="18" font-weight="bold">${esc(title)}</text>`,
      `<text x="${LEFT}" y="34" font-size="10" fill="#555">crashes/s, log scale; figure above a collector bar: its ratio to the reference server at the same load point</text>`,
      ...grid,
      ...parts,
      ...legend,
      `</svg>`,
    ].join('\n') + '\n'
  );
}

/** What the results file says about the run, for the chart's title. */
export interface RunInfo {
  commit?: string;
  node: string;
  host: { cpus: number };
  options: { workers: number; durationS: number; repeat?: number };
}

export function chartTitle(r: RunInfo): string {
  return `npm run bench: ${r.options.workers} workers per server, ${r.options.durationS} s per run${(r.options.repeat ?? 1) > 1 ? `, median of ${r.options.repeat} rounds` : ''}, ${r.host.cpus} CPUs, node ${r.node}${r.commit ? `, commit ${r.commit}` : ''}`;
}

// `node bench/dist/lib/chart.js results.json out.svg` redraws the chart of an earlier run.
if (require.main === module) {
  const [from, to] = process.argv.slice(2);
  if (!from || !to) {
    process.stderr.write('usage: node bench/dist/lib/chart.js <results.json> <out.svg>\n');
    process.exit(2);
  }
  const result = JSON.parse(readFileSync(from, 'utf8')) as RunInfo & { runs: RunRecord[]; medians?: RunRecord[] };
  writeFileSync(to, renderChart(result.medians ?? result.runs, chartTitle(result)));
}
