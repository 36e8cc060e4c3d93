import { isId } from '@mercado/service-kit';
import type { InventoryContext } from '../context.ts';
import { zeroStock } from '../domain/stock.ts';

export const Product = {
  // Inventory keeps no product data: the reference is the entity. Stock is loaded per field.
  __resolveReference: (ref: { id: string }) => ({ id: ref.id }),
  // Batched through the request's DataLoader: 50 products, one SQL query. A malformed id
  // cannot have stock, and must not reach PostgreSQL as a uuid cast error.
  stock: (product: { id: string }, _: unknown, ctx: InventoryContext) =>
    isId(product.id) ? ctx.stockByProductId.load(product.id.toLowerCase()) : zeroStock(),
};
