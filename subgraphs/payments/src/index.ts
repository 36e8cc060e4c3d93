import { fileURLToPath } from 'node:url';
import { defineService } from '@mercado/service-kit';
import { createDb, type Db } from './db.ts';
import { paymentsEnvironment } from './environment.ts';
import { seed } from './seed.ts';
import { startPaymentsWorkers } from './workers.ts';
import { startPayments, type PaymentsOptions } from './service.ts';

export { createDb, type Db, seed, startPayments, type PaymentsOptions };
/** The saga participant operations (authorize, capture, voidAuthorization, refund) for the order saga's workers. */
export * as paymentCommands from './domain/payments.ts';
export type { AuthorizeCommand, AuthorizeResult, PaymentCommand, TransitionResult } from './domain/payments.ts';

export const paymentsService = defineService({
  name: 'payments',
  environment: paymentsEnvironment,
  migrationsDir: fileURLToPath(new URL('../../../prisma/payments/migrations', import.meta.url)),
  createDb,
  seed: async (db: Db) => {
    const { accounts, payments } = await seed(db);
    return `${accounts} accounts, ${payments} payments`;
  },
  start: (db, runtime, settings) => startPayments(db, runtime, { defaultCreditLimitCents: settings.DEFAULT_CREDIT_LIMIT_CENTS }),
  workers: (db, config, settings) => startPaymentsWorkers(db, { ...config, defaultCreditLimitCents: settings.DEFAULT_CREDIT_LIMIT_CENTS }),
});
