import { fileURLToPath } from 'node:url';
import type { ServiceModule } from '@mercado/service-kit';
import { createDb, type Db } from './db.ts';
import { seed } from './seed.ts';
import { startPaymentsWorkers } from './workers.ts';
import { startPayments, type PaymentsOptions } from './service.ts';

export { createDb, type Db, seed, startPayments, type PaymentsOptions };
/** The saga participant operations (authorize, capture, voidAuthorization, refund) for the order saga's workers. */
export * as paymentCommands from './domain/payments.ts';
export type { AuthorizeCommand, AuthorizeResult, PaymentCommand, TransitionResult } from './domain/payments.ts';

export const paymentsService: ServiceModule<Db> = {
  name: 'payments',
  defaultPort: 4006,
  migrationsDir: fileURLToPath(new URL('../../../prisma/payments/migrations', import.meta.url)),
  createDb,
  seed: async (db) => {
    const { accounts, payments } = await seed(db);
    return `${accounts} accounts, ${payments} payments`;
  },
  start: async (db, runtime) => {
    // Read on start, not on import: other packages import this module for its commands.
    const { environment } = await import('./environment.ts');
    return startPayments(db, runtime, { defaultCreditLimitCents: environment.DEFAULT_CREDIT_LIMIT_CENTS });
  },
  workers: async (db, config) => {
    const { environment } = await import('./environment.ts');
    return startPaymentsWorkers(db, { ...config, defaultCreditLimitCents: environment.DEFAULT_CREDIT_LIMIT_CENTS });
  },
};
