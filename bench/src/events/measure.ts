/**
 * Measuring helpers shared by the events and saga benchmarks: percentiles, the machine's
 * description, and CPU accounting per component from /proc. The machine is small (2 cores) and
 * shared, so a figure is only readable next to who used the CPU while it was taken.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { machine as gatewayBenchMachine } from '../lib/report.ts';

/** The gateway bench's `machine` (latest.json), with the load average when the run began. */
export function machine() {
  return { ...gatewayBenchMachine(), loadAverage: Math.round(loadavg()[0]! * 10) / 10 };
}

/** Writes a benchmark's results as bench/results/<name>.json, which latest.json includes. */
export function writeResults(name: string, results: unknown): string {
  const file = fileURLToPath(new URL(`../../results/${name}.json`, import.meta.url));
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify(results, null, 2) + '\n');
  return file;
}

export interface Percentiles {
  count: number;
  p50: number;
  p99: number;
  max: number;
}

/** Nearest-rank percentiles; NaN for no samples, so an empty run can never look fast. */
export function percentiles(samples: readonly number[]): Percentiles {
  if (samples.length === 0) return { count: 0, p50: NaN, p99: NaN, max: NaN };
  const sorted = Float64Array.from(samples).sort();
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
  return { count: sorted.length, p50: at(0.5), p99: at(0.99), max: sorted[sorted.length - 1]! };
}

export const round1 = (n: number) => Math.round(n * 10) / 10;

export function fmt(n: number, digits = 1): string {
  if (!Number.isFinite(n)) return '-';
  return n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(digits);
}

/** A fixed-width text table: first row is the header. */
export function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  const line = (r: string[]) => r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('   ');
  return [line(rows[0]!), widths.map((w) => '-'.repeat(w)).join('   '), ...rows.slice(1).map(line)].join('\n');
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

// USER_HZ is 100 on every Linux this runs on (getconf CLK_TCK).
const MS_PER_TICK = 10;

/** Which servers a process belongs to, by its command name. */
export type Component = 'bench' | 'postgres' | 'rabbitmq' | 'redis';
const components: Record<Exclude<Component, 'bench'>, (comm: string) => boolean> = {
  postgres: (comm) => comm === 'postgres',
  rabbitmq: (comm) => comm === 'beam.smp' || comm.startsWith('erl_child') || comm === 'inet_gethost',
  redis: (comm) => comm.startsWith('redis-server'),
};

/** CPU time of a process in clock ticks (utime + stime), or null once it is gone. */
export function cpuTicks(pid: string | number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which may itself contain spaces and parentheses.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return null;
  }
}

function snapshot(): { perPid: Map<string, { component: Component; ticks: number }>; busy: number; total: number } {
  const perPid = new Map<string, { component: Component; ticks: number }>();
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    let component: Component | undefined;
    if (pid === String(process.pid)) component = 'bench';
    else {
      let comm: string;
      try {
        comm = readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
      } catch {
        continue;
      }
      component = Object.entries(components).find(([, matches]) => matches(comm))?.[0] as Component | undefined;
    }
    if (!component) continue;
    const ticks = cpuTicks(pid);
    if (ticks !== null) perPid.set(pid, { component, ticks });
  }
  const [user, nice, system, idle, iowait, irq, softirq, steal] = readFileSync('/proc/stat', 'utf8')
    .split('\n')[0]!
    .trim()
    .split(/\s+/)
    .slice(1)
    .map(Number) as number[];
  const busy = user! + nice! + system! + irq! + softirq! + steal!;
  return { perPid, busy, total: busy + idle! + iowait! };
}

export interface CpuUse {
  /** CPU ms each component used in the interval (PostgreSQL and Redis include anyone else's use of them). */
  ms: Record<Component | 'others', number>;
  /** Wall time of the interval times the number of cores, in ms. */
  capacityMs: number;
}

/** Starts measuring; the returned function reads the CPU used since. */
export function startCpuMeter(): () => CpuUse {
  const before = snapshot();
  return () => {
    const after = snapshot();
    const ms: Record<Component | 'others', number> = { bench: 0, postgres: 0, rabbitmq: 0, redis: 0, others: 0 };
    for (const [pid, { component, ticks }] of after.perPid) {
      // A process started during the interval (a new connection's backend) counts from zero.
      ms[component] += (ticks - (before.perPid.get(pid)?.ticks ?? 0)) * MS_PER_TICK;
    }
    const busy = (after.busy - before.busy) * MS_PER_TICK;
    ms.others = Math.max(0, busy - ms.bench - ms.postgres - ms.rabbitmq - ms.redis);
    return { ms, capacityMs: (after.total - before.total) * MS_PER_TICK };
  };
}

/** "bench 0.21 ms, postgres 0.35 ms, ..." of CPU per unit of work, and how busy the machine was. */
export function describeCpu(use: CpuUse, units: number, unit: string): string {
  const per = (ms: number) => (units > 0 ? (ms / units).toFixed(3) : '-');
  const parts = (['bench', 'postgres', 'rabbitmq', 'redis'] as const).filter((c) => use.ms[c] > 0).map((c) => `${c} ${per(use.ms[c])}`);
  const busy = use.capacityMs > 0 ? (100 * (use.capacityMs - idleMs(use))) / use.capacityMs : 0;
  return `CPU ms per ${unit}: ${parts.join(', ')}; machine ${busy.toFixed(0)}% busy, ${pct(use.ms.others, use.capacityMs)} of it others`;
}

function idleMs(use: CpuUse): number {
  return use.capacityMs - Object.values(use.ms).reduce((a, b) => a + b, 0);
}

const pct = (part: number, whole: number) => (whole > 0 ? `${((100 * part) / whole).toFixed(0)}%` : '-');

/** CPU per component as a small JSON object for the results file. */
export function cpuSummary(use: CpuUse, units: number) {
  const per = (ms: number) => (units > 0 ? Math.round((1000 * ms) / units) / 1000 : null);
  return {
    msPerUnit: { bench: per(use.ms.bench), postgres: per(use.ms.postgres), rabbitmq: per(use.ms.rabbitmq), redis: per(use.ms.redis) },
    othersPercent: use.capacityMs > 0 ? Math.round((100 * use.ms.others) / use.capacityMs) : null,
  };
}
