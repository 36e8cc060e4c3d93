import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { reachableHost, runtimeOf, type Ports } from '@mercado/system';
import { repositoryRoot } from './secrets.ts';

export type Exit = { code: number | null; signal: NodeJS.Signals | null };

/** One process of a deployable (a subgraph or the gateway), as started by `spawnDeployable`. */
export interface DeployableProcess {
  /** e.g. `orders`, or `orders#2` for a second replica. */
  label: string;
  name: string;
  replica: number;
  ports: Ports;
  /** Scheme, host and port of its public port. */
  baseUrl: string;
  /** Its GraphQL endpoint. */
  url: string;
  /** Scheme, host and port of its management port (/metrics, /health, /ready). */
  managementUrl: string;
  /** Where it says whether it is ready. */
  readyUrl: string;
  child: ChildProcess;
  /** Resolves once it has exited, with how. */
  exited: Promise<Exit>;
  /** The last lines it printed, for error messages. */
  output(): string;
  /** SIGTERM, then waits for it to exit (SIGKILL after `killAfterMs`, default 40 s). */
  stop(killAfterMs?: number): Promise<Exit>;
  /** SIGKILL: no shutdown at all, as a crash or the OOM killer would end it. */
  kill(): Promise<Exit>;
}

/** The compiled entry point of a deployable (`npm run build` writes it). */
export function entryOf(name: string): string {
  const entry = join(repositoryRoot, name === 'gateway' ? 'gateway' : `subgraphs/${name}`, 'dist/main.js');
  if (!existsSync(entry)) throw new Error(`${entry} does not exist: run \`npm run build\` first`);
  return entry;
}

export interface SpawnOptions {
  name: string;
  replica?: number;
  ports: Ports;
  host: string;
  /** Added to this process's environment. */
  env: Record<string, string>;
  /** Each line the process prints, stdout and stderr alike. */
  onLine?: (label: string, line: string) => void;
  /** Node flags; default: the deployable's declared ones (packages/system/src/runtime.ts), as in the image. */
  nodeArgs?: readonly string[];
  /** The node binary; default: the one running this. */
  nodeBinary?: string;
}

/** Starts a deployable's compiled entry point with plain node. */
export function spawnDeployable(opts: SpawnOptions): DeployableProcess {
  const replica = opts.replica ?? 0;
  const label = replica ? `${opts.name}#${replica + 1}` : opts.name;
  const child = spawn(opts.nodeBinary ?? process.execPath, [...(opts.nodeArgs ?? runtimeOf(opts.name).nodeFlags), entryOf(opts.name)], {
    cwd: repositoryRoot,
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  for (const stream of [child.stdout!, child.stderr!]) {
    createInterface({ input: stream }).on('line', (line) => {
      lines.push(line);
      if (lines.length > 60) lines.shift();
      opts.onLine?.(label, line);
    });
  }
  const exited = new Promise<Exit>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const host = reachableHost(opts.host);
  const baseUrl = `http://${host}:${opts.ports.port}`;
  const running = () => child.exitCode === null && child.signalCode === null;
  return {
    label,
    name: opts.name,
    replica,
    ports: opts.ports,
    baseUrl,
    url: `${baseUrl}/graphql`,
    managementUrl: `http://${host}:${opts.ports.metricsPort}`,
    // The gateway answers /ready on its public port.
    readyUrl: opts.name === 'gateway' ? `${baseUrl}/ready` : `http://${host}:${opts.ports.metricsPort}/ready`,
    child,
    exited,
    output: () => lines.join('\n'),
    async stop(killAfterMs = 40_000) {
      if (running()) child.kill('SIGTERM');
      const timer = setTimeout(() => running() && child.kill('SIGKILL'), killAfterMs);
      const exit = await exited;
      clearTimeout(timer);
      return exit;
    },
    async kill() {
      if (running()) child.kill('SIGKILL');
      return exited;
    },
  };
}

/**
 * Resolves once the process answers 200 on its `/ready`; fails as soon as it
 * exits, or after `timeoutMs`, with its last output and what /ready said.
 */
export async function untilReady(proc: DeployableProcess, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exit: Exit | undefined;
  void proc.exited.then((e) => (exit = e));
  let last = 'no answer';
  while (Date.now() < deadline) {
    if (exit) throw new Error(`${proc.label} exited (${exit.signal ?? `code ${exit.code}`}) before it was ready:\n${proc.output()}`);
    try {
      const res = await fetch(proc.readyUrl, { signal: AbortSignal.timeout(5_000) });
      last = `${res.status} ${await res.text()}`;
      if (res.ok) return;
    } catch (error) {
      last = (error as Error).message;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${proc.label} was not ready after ${timeoutMs / 1000} s (last /ready: ${last}):\n${proc.output()}`);
}
