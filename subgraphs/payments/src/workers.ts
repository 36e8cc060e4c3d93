import type { Logger, SagaRuntime } from '@mercado/service-kit';
import { SagaBus, startParticipant, type StepResult } from '@mercado/saga';
import type { Db } from './db.ts';
import { authorize, capture, refund, voidAuthorization } from './domain/payments.ts';

/** Payments' side of the order sagas: each command idempotent per (saga, step) in this database. */
export async function startPaymentsWorkers(db: Db, config: SagaRuntime & { logger: Logger; defaultCreditLimitCents?: number }) {
  const bus = new SagaBus(config);
  const options = config.defaultCreditLimitCents ? { defaultCreditLimitCents: config.defaultCreditLimitCents } : {};
  const withSaga = (payload: unknown, sagaId: string) => ({ ...(payload as object), sagaId }) as never;
  const participant = startParticipant({
    bus,
    participant: 'payments',
    logger: config.logger,
    handlers: {
      authorize: async (payload, { sagaId }) => (await authorize(db, withSaga(payload, sagaId), options)) as StepResult,
      capture: async (payload, { sagaId }) => (await capture(db, withSaga(payload, sagaId))) as StepResult,
      void: async (payload, { sagaId }) => (await voidAuthorization(db, withSaga(payload, sagaId))) as StepResult,
      refund: async (payload, { sagaId }) => (await refund(db, withSaga(payload, sagaId))) as StepResult,
    },
  });
  return {
    close: async () => {
      await participant.close();
      await bus.close();
    },
  };
}
