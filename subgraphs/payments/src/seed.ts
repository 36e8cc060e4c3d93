import { seedCreditLimits, seedOrders } from '@mercado/dev-seed';
import type { Db } from './db.ts';
import { createMissingPastPayments } from './domain/paymentRecords.ts';

/** Idempotent: opens the customers' accounts and records their past orders as paid, where missing. */
export async function seed(db: Db): Promise<{ accounts: number; payments: number }> {
  await createMissingPastPayments(db, seedCreditLimits, seedOrders);
  return { accounts: Object.keys(seedCreditLimits).length, payments: seedOrders.length };
}
