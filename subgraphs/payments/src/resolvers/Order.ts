import { isId } from '@mercado/service-kit';
import type { PaymentsContext } from '../context.ts';
import { canSeePayment } from '../domain/paymentRecords.ts';

export const Order = {
  // Orders owns the order; payments only adds its payment to the reference.
  __resolveReference: (ref: { id: string }) => ({ id: ref.id }),
  // Batched through the request's DataLoader: N orders, one SQL query. The payment row knows
  // its customer, so payments checks ownership itself rather than trusting that orders did.
  payment: async (order: { id: string }, _: unknown, ctx: PaymentsContext) => {
    if (!ctx.viewer || !isId(order.id)) return null;
    const payment = await ctx.paymentByOrderId.load(order.id.toLowerCase());
    return payment && canSeePayment(ctx.viewer, payment) ? payment : null;
  },
};
