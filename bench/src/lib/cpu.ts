/**
 * CPU accounting from /proc, because the bench machine is shared: requests/s fall when
 * something else runs, while the gateway's CPU time per request barely moves. Reporting
 * both, and how much of the machine others used, makes a noisy round recognisable.
 */
import { readdirSync, readFileSync } from 'node:fs';

// USER_HZ: 100 on every Linux the bench runs on (getconf CLK_TCK).
const MS_PER_TICK = 10;

/** CPU time (user + system) a process has used so far, in ms; null once it has exited. */
export function processCpuMs(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which may itself contain spaces and parentheses.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * MS_PER_TICK;
  } catch {
    return null;
  }
}

/**
 * The processes of a process group (each child the bench starts leads its own), so that a
 * gateway that forks workers is measured whole. tsx's esbuild service is left out: it only
 * compiles at start-up and every TypeScript gateway has one.
 */
export function processGroup(pgid: number): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[2]) === pgid && comm !== 'esbuild') pids.push(Number(entry));
    } catch {}
  }
  return pids;
}

/** CPU time used so far by a process group's live members, in ms. */
export function groupCpuMs(pgid: number): number | null {
  const pids = processGroup(pgid);
  if (pids.length === 0) return null;
  return pids.reduce((sum, pid) => sum + (processCpuMs(pid) ?? 0), 0);
}

/** Busy and total CPU time of the whole machine so far, in ms summed over all cores. */
export function machineCpuMs(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
  const [user, nice, system, idle, iowait, irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number) as number[];
  const busy = user! + nice! + system! + irq! + softirq! + steal!;
  return { busy: busy * MS_PER_TICK, total: (busy + idle! + iowait!) * MS_PER_TICK };
}

/**
 * Measures one interval: the gateway's CPU per request (its whole process group), and the
 * share of the machine others used.
 */
export function startCpuMeter(gatewayPid: number | null, benchPids: number[]) {
  const ours = () => benchPids.reduce((sum, pid) => sum + (groupCpuMs(pid) ?? 0), 0) + selfMs();
  const selfMs = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1000;
  };
  const gateway0 = gatewayPid === null ? null : groupCpuMs(gatewayPid);
  const ours0 = ours();
  const machine0 = machineCpuMs();
  return (requests: number) => {
    const gateway1 = gatewayPid === null ? null : groupCpuMs(gatewayPid);
    const machine1 = machineCpuMs();
    const total = machine1.total - machine0.total;
    const others = machine1.busy - machine0.busy - (ours() - ours0);
    return {
      gatewayCpuMsPerRequest: gateway0 !== null && gateway1 !== null && requests > 0 ? (gateway1 - gateway0) / requests : null,
      othersPercent: total > 0 ? Math.max(0, Math.min(100, (100 * others) / total)) : 0,
    };
  };
}
