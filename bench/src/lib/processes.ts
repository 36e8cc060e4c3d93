/**
 * Child processes the bench starts (subgraphs, gateways): each in its own process group so
 * that stopping it also stops whatever it spawned (tsx's esbuild service), and so that a
 * Ctrl-C in the terminal reaches only the runner, which then stops them in order.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { processGroup } from './cpu.ts';

export interface Child {
  name: string;
  pid: number;
  /** The last lines the process printed, for error messages. */
  output(): string;
  /** Resolves with the exit code (or signal) once the process has exited. */
  exited: Promise<string>;
  stop(): Promise<void>;
}

const running = new Set<Child & { proc: ChildProcess }>();

function killGroup(pid: number, signal: NodeJS.Signals) {
  try {
    process.kill(-pid, signal);
  } catch {}
}

// Last resort when the runner dies without its cleanup (an uncaught exception, process.exit).
process.on('exit', () => {
  for (const child of running) killGroup(child.pid, 'SIGKILL');
});

export function startProcess(name: string, command: string, args: string[], env: NodeJS.ProcessEnv, cwd: string): Child {
  const proc = spawn(command, args, { cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  if (!proc.pid) throw new Error(`could not start ${name}`);
  const lines: string[] = [];
  const keep = (chunk: Buffer) => {
    lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    if (lines.length > 40) lines.splice(0, lines.length - 40);
  };
  proc.stdout!.on('data', keep);
  proc.stderr!.on('data', keep);
  const exited = new Promise<string>((resolve) =>
    proc.once('exit', (code, signal) => {
      running.delete(child);
      resolve(signal ?? String(code));
    }),
  );
  const pid = proc.pid;
  const child = {
    name,
    pid,
    proc,
    output: () => lines.join('\n'),
    exited,
    async stop() {
      if (!running.has(child)) return;
      killGroup(pid, 'SIGTERM');
      const timer = setTimeout(() => killGroup(pid, 'SIGKILL'), 8_000);
      await exited;
      clearTimeout(timer);
      // Whatever the leader left behind in its group (tsx's esbuild service).
      killGroup(pid, 'SIGKILL');
    },
  };
  running.add(child);
  return child;
}

/** Stops every child still running, newest first. */
export async function stopAll(): Promise<void> {
  for (const child of [...running].reverse()) await child.stop();
}

/** Kills every child at once, synchronously: for a second Ctrl-C. */
export function killAll(): void {
  for (const child of running) killGroup(child.pid, 'SIGKILL');
}

/** Fails when something already listens on the port (a dev server, an earlier run). */
export async function assertPortFree(port: number): Promise<void> {
  const inUse = await new Promise<boolean>((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
  if (inUse) throw new Error(`port ${port} is in use; stop whatever listens there and run the bench again`);
}

/**
 * Polls a GraphQL endpoint until it answers a trivial POST with an accepted status
 * (a gateway: 200 once its schema is loaded; a Mercado subgraph: 401, it is listening).
 */
export async function waitUntilReady(
  child: Child,
  url: string,
  accept: (status: number) => boolean,
  timeoutMs = 120_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exitedWith: string | undefined;
  void child.exited.then((code) => (exitedWith = code));
  while (Date.now() < deadline) {
    if (exitedWith !== undefined) throw new Error(`${child.name} exited (${exitedWith}) before it was ready:\n${child.output()}`);
    try {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: '{ __typename }' }),
        signal: AbortSignal.timeout(5_000),
      });
      await res.arrayBuffer();
      if (accept(res.status)) return;
    } catch {}
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${child.name} was not ready at ${url} after ${timeoutMs / 1000} s:\n${child.output()}`);
}

function statusKB(pid: number, field: 'VmHWM' | 'VmRSS'): number {
  try {
    const kb = Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
    return Number.isFinite(kb) ? kb : 0;
  } catch {
    return 0;
  }
}

/**
 * Follows the peak resident memory of a process group (a gateway and any workers it forks):
 * polls the members' summed VmRSS, and also takes the leader's own VmHWM, which catches a
 * single process's peak between polls. `stop()` returns the peak in MB.
 */
export function watchPeakRss(pgid: number, everyMs = 500): { stop(): number } {
  let peakKB = 0;
  const sample = () => {
    const pids = processGroup(pgid);
    const sum = pids.reduce((total, pid) => total + statusKB(pid, 'VmRSS'), 0);
    peakKB = Math.max(peakKB, sum, statusKB(pgid, 'VmHWM'));
  };
  sample();
  const timer = setInterval(sample, everyMs);
  timer.unref();
  return {
    stop() {
      sample();
      clearInterval(timer);
      return peakKB / 1024;
    },
  };
}
