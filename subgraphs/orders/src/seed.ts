import { seedOrders } from '@mercado/dev-seed';
import type { Db } from './db.ts';
import { createMissingOrders } from './domain/orders.ts';

/** Idempotent: creates the development orders whose ids are not there yet. */
export async function seed(db: Db): Promise<number> {
  await createMissingOrders(db, seedOrders);
  return seedOrders.length;
}
