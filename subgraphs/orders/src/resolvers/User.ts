import type { OrdersContext } from '../context.ts';
import { authorizeOrderList } from '../domain/orders.ts';

export const User = {
  orders: (user: { id: string }, args: { first: number }, ctx: OrdersContext) => {
    const first = authorizeOrderList(ctx.viewer, user.id, args.first);
    return ctx.recentOrdersByUserId(first).load(user.id);
  },
};
