import type { SagaRuntime, Logger } from '@mercado/service-kit';
import { SagaBus } from '@mercado/saga';
import type { Db } from './db.ts';
import { startOrchestrator } from './saga/orchestrator.ts';

/** The order sagas' orchestrator: replies, deadlines and the sweep. */
export async function startOrdersWorkers(db: Db, config: SagaRuntime & { logger: Logger; stepTimeoutMs?: number; sweepIntervalMs?: number }) {
  const bus = new SagaBus(config);
  const orchestrator = startOrchestrator({
    db,
    bus,
    logger: config.logger,
    stepTimeoutMs: config.stepTimeoutMs ?? 10_000,
    ...(config.sweepIntervalMs ? { sweepIntervalMs: config.sweepIntervalMs } : {}),
  });
  return {
    sweep: orchestrator.sweep,
    close: async () => {
      await orchestrator.close();
      await bus.close();
    },
  };
}
