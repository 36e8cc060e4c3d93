import { isId } from '@mercado/service-kit';
import type { CatalogContext } from '../context.ts';

export const Product = {
  // Batched through the request's DataLoader: 50 references, one SQL query.
  inStock: (product: { id: string }, _: unknown, ctx: CatalogContext) => ctx.inStock.load(product.id),
  __resolveReference: (ref: { id: string }, ctx: CatalogContext) => (isId(ref.id) ? ctx.productById.load(ref.id.toLowerCase()) : null),
};
