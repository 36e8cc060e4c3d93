import { seedProducts } from '@mercado/dev-seed';
import type { Db } from './db.ts';
import { createProduct } from './domain/products.ts';

/**
 * Idempotent: creates the development products that are missing, through the same domain
 * function as createProduct, so each announces itself (ProductCreated) to the services that
 * replicate products.
 */
export async function seed(db: Db): Promise<number> {
  const existing = new Set((await db.product.findMany({ select: { id: true } })).map((p) => p.id));
  for (const { stock: _stock, id, ...product } of seedProducts) {
    if (!existing.has(id)) await createProduct(db, product, { id });
  }
  return seedProducts.length;
}
