import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { InProcessStack } from '../src/index.ts';
import type { WorkerProcessConfig } from './fixtures/sagaWorkerProcess.ts';

const script = fileURLToPath(new URL('./fixtures/sagaWorkerProcess.ts', import.meta.url));
const repositoryRoot = fileURLToPath(new URL('../..', import.meta.url));

/** Short job locks, so that a killed process's jobs are handed out again within about a second. */
export const crashTestLocks = { lockDuration: 1_000, stalledInterval: 500 };

type Exit = { code: number | null; signal: NodeJS.Signals | null };

export interface WorkerProcess {
  child: ChildProcess;
  /** The crash point it stopped at, if it killed itself at one. */
  crashedAt: string | null;
  /** Resolves once the process has exited and every line it wrote has been read. */
  exited: Promise<Exit>;
}

interface Loaded {
  child: ChildProcess;
  lines: AsyncIterator<string>;
  exited: Promise<Exit>;
}

function load(service: string): Promise<Loaded> {
  const child = spawn(process.execPath, ['--import', 'tsx', script, service], { cwd: repositoryRoot, stdio: ['pipe', 'pipe', 'inherit'] });
  const exited = once(child, 'exit').then(([code, signal]) => ({ code, signal }) as Exit);
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  return lines.next().then(({ value, done }) => {
    if (done || value !== 'loaded') throw new Error(`saga worker process said ${done ? 'nothing (it exited)' : JSON.stringify(value)}, not "loaded"`);
    return { child, lines, exited };
  });
}

/**
 * Saga workers in child processes (fixtures/sagaWorkerProcess.ts). Loaded processes wait on
 * standby for each service, so that starting its workers, the first time or after a kill,
 * costs no start-up time.
 */
export class WorkerProcesses {
  private readonly standby = new Map<string, Array<Promise<Loaded>>>();
  private readonly running = new Map<ChildProcess, Promise<unknown>>();
  private closed = false;

  /**
   * Starts loading `depth` processes for each service at once (create it before the stack, to
   * overlap the two); two let a service restart twice in quick succession without waiting.
   */
  constructor(services: string[], depth = 2) {
    for (const service of services) for (let i = 0; i < depth; i++) this.loadOne(service);
  }

  private loadOne(service: string): void {
    const loaded = load(service);
    loaded.catch(() => {}); // a standby that fails to load is reported by the start() that takes it
    this.standby.set(service, [...(this.standby.get(service) ?? []), loaded]);
  }

  /**
   * Starts the stack's `service` workers in its standby process; resolves once they run.
   * `successor`: load the next standby, for a process that is going to die.
   */
  async start(stack: InProcessStack, service: string, crashBefore: string[] = [], successor = true): Promise<WorkerProcess> {
    if (this.closed) throw new Error('the worker processes are closed');
    const next = this.standby.get(service)?.shift() ?? load(service);
    if (successor) this.loadOne(service);
    const loaded = await next;
    this.running.set(loaded.child, loaded.exited);
    const config: WorkerProcessConfig = {
      databaseUrl: stack.databaseUrls[service]!,
      redisUrl: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
      prefix: stack.sagaPrefix,
      ...crashTestLocks,
      crashBefore,
    };
    const started: WorkerProcess = { child: loaded.child, crashedAt: null, exited: loaded.exited };
    let running!: () => void;
    const isRunning = new Promise<void>((resolve) => (running = resolve));
    // "started", then possibly a crash report written just before the process kills itself
    // (a crash may even come first); `exited` waits for the last line, so none is missed.
    const reports = (async () => {
      for (let line = await loaded.lines.next(); !line.done; line = await loaded.lines.next()) {
        if (line.value.startsWith('crash ')) started.crashedAt = line.value.slice('crash '.length);
        running();
      }
    })();
    started.exited = Promise.all([loaded.exited, reports]).then(([exit]) => exit);
    loaded.child.stdin!.write(`go ${JSON.stringify(config)}\n`);
    await Promise.race([isRunning, started.exited]);
    return started;
  }

  /** Kills every process it started (a test's cleanup: nothing graceful needed). */
  async close(): Promise<void> {
    this.closed = true;
    for (const standby of await Promise.all([...this.standby.values()].flat().map((loaded) => loaded.catch(() => null)))) {
      if (standby) this.running.set(standby.child, standby.exited);
    }
    await Promise.all(
      [...this.running].map(async ([child, exited]) => {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
        await exited;
      }),
    );
  }
}

/**
 * Runs one service's workers in child processes through a list of crash points: each process
 * dies at the first of the remaining points its workers reach, and the next one takes over with
 * the rest. A process killed from outside (`kill()`) is replaced the same way. Once every point
 * has been reached, the stack's own workers take over (start the stack with `crashTestLocks`).
 */
export class CrashingWorkers {
  /** The steps at which a process died, in order. */
  readonly crashes: string[] = [];
  private current!: WorkerProcess;
  private remaining: string[];
  private stopping = false;
  private replaced: Promise<void> = Promise.resolve();

  private constructor(
    private readonly processes: WorkerProcesses,
    private readonly stack: InProcessStack,
    readonly service: string,
    crashBefore: string[],
  ) {
    this.remaining = [...crashBefore];
  }

  static async start(processes: WorkerProcesses, stack: InProcessStack, service: string, crashBefore: string[]): Promise<CrashingWorkers> {
    const workers = new CrashingWorkers(processes, stack, service, crashBefore);
    await workers.startNext();
    return workers;
  }

  /** Whether the stack's in-process workers have taken over. */
  get handedOver(): boolean {
    return this.remaining.length === 0;
  }

  private async startNext(): Promise<void> {
    if (this.handedOver) return this.stack.startWorkers(this.service);
    // Keep the successors of the processes still to die loaded (two ahead; the last one needs none).
    const current = (this.current = await this.processes.start(this.stack, this.service, this.remaining, this.remaining.length > 2));
    void current.exited.then(({ signal }) => {
      // Stopped, or ended by the test's cleanup: nothing to replace.
      if (this.stopping || signal !== 'SIGKILL') return;
      if (current.crashedAt) {
        this.crashes.push(current.crashedAt);
        this.remaining = this.remaining.filter((step) => step !== current.crashedAt);
      }
      this.replaced = this.startNext();
      this.replaced.catch(() => {}); // reported to whoever waits for it
    });
  }

  /** SIGKILLs the running process from outside; resolves with its exit, its successor already starting. */
  async kill(): Promise<Exit> {
    const victim = this.current;
    victim.child.kill('SIGKILL');
    return victim.exited;
  }

  /** Waits until the last replacement has started; stops a process still running (SIGTERM). */
  async stop(): Promise<void> {
    let replaced: Promise<void>;
    do {
      replaced = this.replaced;
      await replaced;
    } while (replaced !== this.replaced);
    this.stopping = true;
    if (this.handedOver) return;
    this.current.child.kill('SIGTERM');
    await this.current.exited;
  }
}
