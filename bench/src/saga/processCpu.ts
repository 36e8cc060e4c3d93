/**
 * CPU time of named processes from /proc (utime + stime): each deployable of the system, and the
 * PostgreSQL backends serving the stack's own databases (the server's shared background
 * processes and other people's backends are not counted here).
 */
import pg from 'pg';
import { cpuTicks } from '../events/measure.ts';

const MS_PER_TICK = 10;


/** The pids of the backends connected to databases whose name starts with `<stack>_`. */
export async function backendPids(postgresUrl: string, stackName: string): Promise<Map<number, string>> {
  const client = new pg.Client({ connectionString: postgresUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ pid: number; datname: string }>(
      `SELECT pid, datname FROM pg_stat_activity WHERE datname LIKE $1 AND pid <> pg_backend_pid()`,
      [`${stackName}\\_%`],
    );
    return new Map(rows.map((r) => [r.pid, r.datname.slice(stackName.length + 1)]));
  } finally {
    await client.end();
  }
}

/** Starts measuring the given processes; the returned function gives CPU ms per name since. */
export function startProcessMeter(processes: ReadonlyMap<number, string>): () => Record<string, number> {
  const before = new Map([...processes].map(([pid]) => [pid, cpuTicks(pid) ?? 0]));
  return () => {
    const ms: Record<string, number> = {};
    for (const [pid, name] of processes) {
      const now = cpuTicks(pid);
      // A process gone since (a backend that closed) still counts up to its last reading: none here.
      if (now === null) continue;
      ms[name] = (ms[name] ?? 0) + (now - before.get(pid)!) * MS_PER_TICK;
    }
    return ms;
  };
}
