import { assertId, requireAdmin } from '@mercado/service-kit';
import type { InventoryContext } from '../context.ts';
import { restock } from '../domain/stock.ts';

export const Mutation = {
  restock: (_: unknown, args: { productId: string; quantity: number }, ctx: InventoryContext) => {
    requireAdmin(ctx.viewer);
    return restock(ctx.db, assertId(args.productId, 'productId'), args.quantity);
  },
};
