/** The bench's outputs: the table on stdout, latest.json and a small SVG chart. */
import { cpus, totalmem } from 'node:os';

export interface Figures {
  rps: number;
  p50: number;
  p95: number;
  p99: number;
  errors: number;
  /** Peak RSS of the gateway process; null where no gateway runs (`direct`). */
  rssMB: number | null;
}

export type Results = Record<string, Record<string, Figures>>;

/** The table shows one figure more than latest.json: the gateway's CPU time per request. */
export type TableRows = Record<string, Record<string, Figures & { cpuMsPerRequest: number | null }>>;

export function machine() {
  const cpu = cpus();
  return {
    cpus: cpu.length,
    model: cpu[0]?.model.trim() ?? 'unknown',
    memGB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    date: new Date().toISOString(),
  };
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

const round1 = (n: number) => Math.round(n * 10) / 10;

export function rounded(f: Figures): Figures {
  return {
    rps: round1(f.rps),
    p50: round1(f.p50),
    p95: round1(f.p95),
    p99: round1(f.p99),
    errors: f.errors,
    rssMB: f.rssMB === null ? null : round1(f.rssMB),
  };
}

function ratio(value: number | null, base: number | null | undefined): string {
  if (value === null || base === null || base === undefined || !base || !Number.isFinite(value)) return '';
  return `${(value / base).toFixed(2)}x`;
}

function num(n: number | null, digits = 1): string {
  if (n === null || !Number.isFinite(n)) return '-';
  return n >= 100 ? n.toFixed(0) : n.toFixed(digits);
}

/** One table over every workload; each figure also as a ratio to apollo in the same run. */
export function formatTable(results: TableRows): string {
  const header = ['workload', 'gateway', 'req/s', 'vs apollo', 'p50 ms', 'vs', 'p95 ms', 'vs', 'p99 ms', 'vs', 'errors', 'RSS MB', 'vs', 'CPU ms/req', 'vs'];
  const rows: string[][] = [header];
  for (const [workload, gateways] of Object.entries(results)) {
    const base = gateways.apollo;
    for (const [gateway, f] of Object.entries(gateways)) {
      rows.push([
        workload,
        gateway,
        num(f.rps),
        ratio(f.rps, base?.rps),
        num(f.p50),
        ratio(f.p50, base?.p50),
        num(f.p95),
        ratio(f.p95, base?.p95),
        num(f.p99),
        ratio(f.p99, base?.p99),
        String(f.errors),
        num(f.rssMB, 0),
        ratio(f.rssMB, base?.rssMB),
        num(f.cpuMsPerRequest),
        ratio(f.cpuMsPerRequest, base?.cpuMsPerRequest),
      ]);
    }
  }
  const widths = header.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((cell, i) => (i < 2 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ');
  return [line(rows[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line)].join('\n');
}

const colors: Record<string, string> = {
  mercado: '#2f7d32',
  apollo: '#5c6bc0',
  hive: '#f9a825',
  'hive-dedupe': '#fbc02d',
  direct: '#8d6e63',
};

const escape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/**
 * Grouped bars of requests/s, one group per workload. Workloads differ by orders of
 * magnitude, so each group has its own scale (its tallest bar fills the height) and every
 * bar carries its value. hive-dedupe mostly measures de-duplication, so it does not set the
 * scale: a taller bar is cut at the top and marked.
 */
export function formatSvg(results: Results, title: string): string {
  const workloads = Object.entries(results);
  const bar = 26;
  const gap = 6;
  const groupGap = 30;
  const chartTop = 62;
  const chartHeight = 170;
  const left = 20;
  const groupWidths = workloads.map(([name, g]) =>
    Math.max(Object.keys(g).length * (bar + gap) - gap, name.length * 6.5),
  );
  const width = Math.max(420, left * 2 + groupWidths.reduce((a, b) => a + b + groupGap, -groupGap));
  const legendNames = [...new Set(workloads.flatMap(([, g]) => Object.keys(g)))];
  const height = chartTop + chartHeight + 56;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="${left}" y="20" font-size="14" font-weight="bold">${escape(title)}</text>`,
    `<text x="${left}" y="36" fill="#555">requests/s per gateway (median of rounds); each workload on its own scale</text>`,
  ];
  let x = left;
  workloads.forEach(([workload, gateways], i) => {
    const entries = Object.entries(gateways);
    const scaling = entries.filter(([name]) => name !== 'hive-dedupe').map(([, f]) => f.rps);
    const max = Math.max(...(scaling.length ? scaling : entries.map(([, f]) => f.rps)));
    const barsWidth = entries.length * (bar + gap) - gap;
    const x0 = x + (groupWidths[i]! - barsWidth) / 2;
    entries.forEach(([gateway, f], j) => {
      const cut = max > 0 && f.rps > max;
      const h = max > 0 ? Math.max(1, Math.min(f.rps / max, 1) * chartHeight) : 1;
      const bx = x0 + j * (bar + gap);
      const by = chartTop + chartHeight - h;
      parts.push(
        `<rect x="${bx}" y="${by.toFixed(1)}" width="${bar}" height="${h.toFixed(1)}" fill="${colors[gateway] ?? '#999'}"><title>${escape(`${workload} / ${gateway}: ${num(f.rps)} req/s`)}</title></rect>`,
        `<text x="${bx + bar / 2}" y="${(by - 3).toFixed(1)}" text-anchor="middle">${num(f.rps)}${cut ? ' ↑' : ''}</text>`,
      );
      if (cut) parts.push(`<line x1="${bx - 2}" x2="${bx + bar + 2}" y1="${by + 8}" y2="${by + 4}" stroke="#fff" stroke-width="3"/>`);
    });
    parts.push(
      `<text x="${x + groupWidths[i]! / 2}" y="${chartTop + chartHeight + 16}" text-anchor="middle">${escape(workload)}</text>`,
    );
    x += groupWidths[i]! + groupGap;
  });
  parts.push(`<line x1="${left}" x2="${width - left}" y1="${chartTop + chartHeight}" y2="${chartTop + chartHeight}" stroke="#333"/>`);
  let lx = left;
  for (const name of legendNames) {
    parts.push(
      `<rect x="${lx}" y="${height - 20}" width="10" height="10" fill="${colors[name] ?? '#999'}"/>`,
      `<text x="${lx + 14}" y="${height - 11}">${escape(name)}</text>`,
    );
    lx += 24 + name.length * 7;
  }
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}
