import cluster, { type Worker } from 'node:cluster';
import type { Logger } from '@mercado/service-kit';

/** A worker tells the primary it serves; the primary tells a worker to stop. */
type WorkerMessage = { type: 'gateway-ready'; url: string };
type PrimaryMessage = { type: 'shutdown' };

export interface PrimaryOptions {
  workers: number;
  logger: Logger;
  /** Called once, when every worker serves (not again when a worker is replaced). */
  onReady(url: string): void;
  /** Pause before replacing a worker that died; default 1 s. */
  restartDelayMs?: number;
  /** How long the workers get to finish what they serve on shutdown; default 12 s. */
  shutdownTimeoutMs?: number;
}

/**
 * The primary of a clustered gateway: forks the workers (which share the listening port through
 * node:cluster), replaces one that dies once all have started, stops everything if one dies
 * while starting (a bad configuration would otherwise restart forever), and on SIGINT/SIGTERM
 * asks every worker to finish and close, then exits. A second signal kills them at once.
 */
export function runPrimary(opts: PrimaryOptions): void {
  const live = new Set<Worker>();
  const ready = new Set<Worker>();
  let started = false;
  let stopping = false;
  let exitCode = 0;

  const fork = () => {
    const worker = cluster.fork();
    live.add(worker);
    worker.on('message', (message: WorkerMessage) => {
      if (message?.type !== 'gateway-ready') return;
      ready.add(worker);
      if (started) {
        opts.logger.info({ pid: worker.process.pid }, 'replacement gateway worker ready');
      } else if (ready.size === opts.workers) {
        started = true;
        opts.onReady(message.url);
      }
    });
  };

  const killAll = () => {
    for (const worker of live) worker.process.kill('SIGKILL');
  };

  const stop = (code: number) => {
    if (stopping) return;
    stopping = true;
    exitCode = code;
    if (live.size === 0) process.exit(exitCode);
    for (const worker of live) {
      if (worker.isConnected()) worker.send({ type: 'shutdown' } satisfies PrimaryMessage);
      else worker.process.kill('SIGTERM');
    }
    setTimeout(() => {
      opts.logger.error('gateway workers did not stop in time; killing them');
      killAll();
      process.exit(1);
    }, opts.shutdownTimeoutMs ?? 12_000).unref();
  };

  cluster.on('exit', (worker, code, signal) => {
    live.delete(worker);
    ready.delete(worker);
    if (stopping) {
      if (live.size === 0) process.exit(exitCode);
      return;
    }
    if (!started) {
      opts.logger.error({ pid: worker.process.pid, code, signal }, 'a gateway worker stopped while starting; stopping the gateway');
      return stop(1);
    }
    opts.logger.error({ pid: worker.process.pid, code, signal }, 'a gateway worker died; starting another');
    setTimeout(() => {
      if (!stopping) fork();
    }, opts.restartDelayMs ?? 1_000).unref();
  });

  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (stopping) {
        killAll();
        process.exit(1);
      }
      opts.logger.info({ signal }, 'shutting down');
      stop(0);
    });
  }

  for (let i = 0; i < opts.workers; i++) fork();
}

/**
 * A worker's side, joined before the gateway starts: closes once on the primary's request, on
 * its own SIGINT/SIGTERM (a terminal's Ctrl-C reaches every process of the group), or when the
 * primary is gone; closing that hangs exits after 10 s. Asked to stop while still starting, it
 * exits at once: nothing is served yet. `serving` tells the primary the worker serves.
 */
export function joinCluster(logger: Logger): { serving(url: string, closers: Array<() => Promise<unknown>>): void } {
  let closers: Array<() => Promise<unknown>> | undefined;
  let closing = false;
  const shutdown = async (reason: string) => {
    if (closing) return;
    closing = true;
    logger.debug({ reason }, 'gateway worker shutting down');
    if (!closers) process.exit(0);
    setTimeout(() => process.exit(1), 10_000).unref();
    for (const close of closers) {
      await close().catch((err: unknown) => logger.error({ err }, 'error while closing'));
    }
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('message', (message: PrimaryMessage) => {
    if (message?.type === 'shutdown') void shutdown('primary');
  });
  process.on('disconnect', () => void shutdown('primary gone'));
  return {
    serving(url, serviceClosers) {
      closers = serviceClosers;
      process.send?.({ type: 'gateway-ready', url } satisfies WorkerMessage);
    },
  };
}
