import type { Product } from '../generated/prisma/client.ts';

/**
 * What catalog events carry: the product's whole public state, so a consumer that sees only
 * the newest event still has everything (no diffs to replay in order).
 */
export function productState(p: Product) {
  return { sku: p.sku, name: p.name, priceCents: p.priceCents, currency: p.currency, category: p.category };
}
