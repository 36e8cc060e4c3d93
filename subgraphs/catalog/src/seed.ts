import { seedProducts } from '@mercado/dev-seed';
import type { Db } from './db.ts';

/** Idempotent: upserts the development products by id. */
export async function seed(db: Db): Promise<number> {
  for (const { stock: _stock, ...product } of seedProducts) {
    await db.product.upsert({ where: { id: product.id }, create: product, update: {} });
  }
  return seedProducts.length;
}
