import type { Logger, SagaRuntime } from '@mercado/service-kit';
import { inventoryParticipant, SagaBus, startParticipant } from '@mercado/saga';
import type { Db } from './db.ts';
import { commitReservation, releaseReservation, reserveStock, returnStock } from './domain/reservations.ts';

/** Inventory's side of the order sagas: its contract's commands, each idempotent per (saga, step) in this database. */
export async function startInventoryWorkers(db: Db, config: SagaRuntime & { logger: Logger }) {
  const bus = new SagaBus(config);
  const participant = startParticipant({
    bus,
    contract: inventoryParticipant,
    logger: config.logger,
    records: { db },
    handlers: {
      reserve: (payload, { sagaId }) => reserveStock(db, { ...payload, sagaId }),
      commit: (_, { sagaId }) => commitReservation(db, { sagaId }),
      release: (_, { sagaId }) => releaseReservation(db, { sagaId }),
      return: (payload, { sagaId }) => returnStock(db, { ...payload, sagaId }),
    },
  });
  return {
    close: async () => {
      await participant.close();
      await bus.close();
    },
  };
}
