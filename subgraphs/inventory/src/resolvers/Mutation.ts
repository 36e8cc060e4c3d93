import { assertId, requireAdmin } from '@mercado/service-kit';
import type { InventoryContext } from '../context.ts';
import { restock, restockOnce } from '../domain/stock.ts';

export const Mutation = {
  restock: (_: unknown, args: { productId: string; quantity: number; idempotencyKey?: string | null }, ctx: InventoryContext) => {
    const admin = requireAdmin(ctx.viewer);
    const productId = assertId(args.productId, 'productId');
    if (args.idempotencyKey == null) return restock(ctx.db, productId, args.quantity);
    return restockOnce(ctx.db, { key: args.idempotencyKey, by: admin.id }, productId, args.quantity);
  },
};
