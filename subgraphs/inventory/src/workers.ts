import type { Logger, SagaRuntime } from '@mercado/service-kit';
import { SagaBus, startParticipant, type StepResult } from '@mercado/saga';
import type { Db } from './db.ts';
import { commitReservation, releaseReservation, reserveStock, returnStock } from './domain/reservations.ts';

/** Inventory's side of the order sagas: each command idempotent per (saga, step) in this database. */
export async function startInventoryWorkers(db: Db, config: SagaRuntime & { logger: Logger }) {
  const bus = new SagaBus(config);
  const withSaga = (payload: unknown, sagaId: string) => ({ ...(payload as object), sagaId }) as never;
  const participant = startParticipant({
    bus,
    participant: 'inventory',
    logger: config.logger,
    handlers: {
      reserve: async (payload, { sagaId }) => (await reserveStock(db, withSaga(payload, sagaId))) as StepResult,
      commit: async (payload, { sagaId }) => (await commitReservation(db, withSaga(payload, sagaId))) as StepResult,
      release: async (payload, { sagaId }) => (await releaseReservation(db, withSaga(payload, sagaId))) as StepResult,
      return: async (payload, { sagaId }) => (await returnStock(db, withSaga(payload, sagaId))) as StepResult,
    },
  });
  return {
    close: async () => {
      await participant.close();
      await bus.close();
    },
  };
}
