import { isId } from '@mercado/service-kit';
import type { OrdersContext } from '../context.ts';
import { canSeeOrder, type Order as OrderRow } from '../domain/orders.ts';

export const Order = {
  // Batched through the request's DataLoader; other people's orders resolve to null, like unknown ones.
  __resolveReference: async (ref: { id: string }, ctx: OrdersContext) => {
    if (!ctx.viewer || !isId(ref.id)) return null;
    const order = await ctx.orderById.load(ref.id.toLowerCase());
    return order && canSeeOrder(ctx.viewer, order) ? order : null;
  },
  placedAt: (order: OrderRow) => order.placedAt.toISOString(),
  customer: (order: OrderRow) => ({ id: order.userId }),
  lines: (order: OrderRow, _: unknown, ctx: OrdersContext) => ctx.linesByOrderId.load(order.id),
  saga: (order: OrderRow, _: unknown, ctx: OrdersContext) => ctx.sagaByOrderId.load(order.id),
};
