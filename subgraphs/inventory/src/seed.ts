import { seedProducts } from '@mercado/dev-seed';
import type { Db } from './db.ts';
import { createMissingStock } from './domain/stock.ts';

/**
 * Idempotent: gives each development product its initial stock once. Rows that already exist
 * keep their levels, so restarting the stack does not undo restocks or sales.
 * Returns how many products the seed covers.
 */
export async function seed(db: Db): Promise<number> {
  await createMissingStock(db, seedProducts.map((p) => ({ productId: p.id, available: p.stock })));
  return seedProducts.length;
}
