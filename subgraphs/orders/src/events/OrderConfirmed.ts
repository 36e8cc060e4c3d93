import { newEvent } from '@mercado/event-bus';

interface ConfirmedOrder {
  id: string;
  userId: string;
  version: number;
  totalCents: number;
  currency: string;
  lines: Array<{ productId: string; quantity: number }>;
}

/** An order was confirmed: stock committed and payment captured. */
export const OrderConfirmed = (o: ConfirmedOrder) =>
  newEvent('orders', 'OrderConfirmed', o.id, o.version, {
    customerId: o.userId,
    totalCents: o.totalCents,
    currency: o.currency,
    lines: o.lines.map((l) => ({ productId: l.productId, quantity: l.quantity })),
  });
