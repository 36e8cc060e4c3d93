import { assertId } from '@mercado/service-kit';
import type { OrdersContext } from '../context.ts';
import { visibleOrderOrThrow } from '../domain/orders.ts';

export const Query = {
  order: async (_: unknown, args: { id: string }, ctx: OrdersContext) => {
    const id = assertId(args.id);
    // Nobody anonymous owns an order, so there is nothing to look up.
    return visibleOrderOrThrow(ctx.viewer, id, ctx.viewer ? await ctx.orderById.load(id) : null);
  },
};
