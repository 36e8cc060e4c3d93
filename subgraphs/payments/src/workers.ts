import type { Logger, SagaRuntime } from '@mercado/service-kit';
import { paymentsParticipant, SagaBus, startParticipant } from '@mercado/saga';
import type { Db } from './db.ts';
import { authorize, capture, refund, voidAuthorization } from './domain/payments.ts';

/** Payments' side of the order sagas: its contract's commands, each idempotent per (saga, step) in this database. */
export async function startPaymentsWorkers(db: Db, config: SagaRuntime & { logger: Logger; defaultCreditLimitCents?: number }) {
  const bus = new SagaBus(config);
  const options = config.defaultCreditLimitCents ? { defaultCreditLimitCents: config.defaultCreditLimitCents } : {};
  const participant = startParticipant({
    bus,
    contract: paymentsParticipant,
    logger: config.logger,
    records: { db },
    handlers: {
      authorize: (payload, { sagaId }) => authorize(db, { ...payload, sagaId }, options),
      capture: (payload, { sagaId }) => capture(db, { ...payload, sagaId }),
      void: (payload, { sagaId }) => voidAuthorization(db, { ...payload, sagaId }),
      refund: (payload, { sagaId }) => refund(db, { ...payload, sagaId }),
    },
  });
  return {
    close: async () => {
      await participant.close();
      await bus.close();
    },
  };
}
