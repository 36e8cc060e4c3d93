import { assertId } from '@mercado/service-kit';
import type { OrdersContext } from '../context.ts';
import { cancelOrder, placeOrder } from '../domain/placeOrder.ts';
import { dispatch, type Dispatch } from '../saga/orchestrator.ts';

/**
 * Sends the saga's first command right away. If Redis is unreachable the order is already
 * committed with its saga; the orchestrator's sweep sends the command once Redis is back.
 */
async function sendFirst(ctx: OrdersContext, first: Dispatch | null): Promise<void> {
  if (!first || !ctx.sagas) return;
  await dispatch(ctx.sagas.bus, first).catch(() => {});
}

export const Mutation = {
  placeOrder: async (_: unknown, args: { input: unknown }, ctx: OrdersContext) => {
    const { order, dispatch: first } = await placeOrder(ctx.db, ctx.viewer, args.input, { stepTimeoutMs: ctx.sagas?.stepTimeoutMs ?? 10_000 });
    await sendFirst(ctx, first);
    return order;
  },
  cancelOrder: async (_: unknown, args: { id: string }, ctx: OrdersContext) => {
    const { order, dispatch: first } = await cancelOrder(ctx.db, ctx.viewer, assertId(args.id), { stepTimeoutMs: ctx.sagas?.stepTimeoutMs ?? 10_000 });
    await sendFirst(ctx, first);
    return order;
  },
};
