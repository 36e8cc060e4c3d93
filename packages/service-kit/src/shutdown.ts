import type { Logger } from './logger.ts';
import type { Readiness } from './readiness.ts';

/** One thing to stop, named for the log. */
export interface ShutdownStep {
  name: string;
  run: () => Promise<unknown>;
}

export interface ShutdownPlan {
  logger: Logger;
  /**
   * Stages run one after another; the steps of a stage run together. For a service: stop taking
   * work (HTTP drain, consumer, saga workers), then publish what that work left in the outbox
   * (relay), then close the connections.
   */
  stages: ShutdownStep[][];
  /** Marked draining at the first signal, so that /ready answers 503 from then on. */
  readiness?: Readiness;
  /**
   * Wait this long after marking not ready before stopping anything: a load balancer (a
   * Kubernetes Service) takes a moment to stop sending new requests. Default 0.
   */
  delayMs?: number;
  /** Past this, whatever has not stopped is abandoned and the process exits 1. Default 25 s. */
  graceMs?: number;
  /** Default: process.exit. */
  exit?: (code: number) => void;
}

/**
 * On the first SIGTERM or SIGINT: not ready, then each stage in turn, then exit 0 (1 if a step
 * failed or the grace period ran out, naming what had not stopped). A second signal exits at once.
 */
export function shutdownOnSignals(plan: ShutdownPlan): { shutdown: (reason: string) => Promise<void> } {
  const exit = plan.exit ?? ((code: number) => process.exit(code));
  let started: Promise<void> | undefined;
  const shutdown = (reason: string) => (started ??= runShutdown(plan, reason).then(exit));
  const onSignal = (signal: NodeJS.Signals) => {
    if (started) {
      plan.logger.warn({ signal }, 'second signal: exiting now');
      exit(1);
      return;
    }
    void shutdown(signal);
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  return { shutdown: (reason) => shutdown(reason) };
}

/** Runs the plan; resolves with the exit code. */
export async function runShutdown(plan: ShutdownPlan, reason: string): Promise<number> {
  const { logger } = plan;
  const startedAt = Date.now();
  logger.info({ reason }, 'shutting down: not ready, finishing the work in hand');
  plan.readiness?.drain();
  if (plan.delayMs) await new Promise((resolve) => setTimeout(resolve, plan.delayMs));
  const pending = new Set<string>();
  let failed = false;
  const stages = (async () => {
    for (const stage of plan.stages) {
      await Promise.all(
        stage.map(async (step) => {
          pending.add(step.name);
          try {
            await step.run();
          } catch (err) {
            failed = true;
            logger.error({ err, step: step.name }, 'error while shutting down');
          } finally {
            pending.delete(step.name);
          }
        }),
      );
    }
  })();
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), plan.graceMs ?? 25_000);
    timer.unref();
  });
  const outcome = await Promise.race([stages.then(() => 'done' as const), timedOut]);
  clearTimeout(timer);
  if (outcome === 'timeout') {
    logger.error({ unfinished: [...pending] }, 'shutdown grace period over; exiting with work unfinished');
    return 1;
  }
  logger.info({ ms: Date.now() - startedAt }, failed ? 'stopped, with errors' : 'stopped');
  return failed ? 1 : 0;
}

/**
 * Runs the closers in order on SIGINT/SIGTERM, then exits. A second signal exits at once; closers
 * that take longer than 10 s are abandoned (exit 1).
 */
export function closeOnSignals(logger: Logger, closers: Array<() => Promise<unknown>>, readiness?: Readiness): void {
  shutdownOnSignals({
    logger,
    readiness,
    graceMs: 10_000,
    stages: closers.map((run, i) => [{ name: `step ${i + 1}`, run }]),
  });
}
