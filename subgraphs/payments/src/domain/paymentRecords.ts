import type { Viewer } from '@mercado/service-kit';
import type { Db } from '../db.ts';
import type { Payment } from '../generated/prisma/client.ts';
import { createMissingAccounts } from './accounts.ts';

/** The customer who pays sees the payment; admins see every payment. */
export function canSeePayment(viewer: Viewer | null, payment: Pick<Payment, 'customerId'>): boolean {
  return viewer !== null && (viewer.role === 'admin' || viewer.id.toLowerCase() === payment.customerId);
}

/** One query for any number of orders; in the order of `orderIds`, null where an order has no payment. */
export async function paymentsByOrderIds(db: Db, orderIds: readonly string[]): Promise<Array<Payment | null>> {
  const rows = await db.payment.findMany({ where: { orderId: { in: [...orderIds] } } });
  const byOrder = new Map(rows.map((p) => [p.orderId, p]));
  return orderIds.map((orderId) => byOrder.get(orderId) ?? null);
}

export interface PastOrder {
  id: string;
  userId: string;
  currency: string;
  placedAt: Date;
  lines: ReadonlyArray<{ quantity: number; unitPriceCents: number }>;
}

/**
 * Development data: opens the customers' accounts with the given limits, then records each
 * past order without a payment as paid in full when it was placed. Each payment and its effect
 * on the account's spent total are written together, so a second run, or a run after an
 * interrupted one, adds exactly what is missing. Returns how many payments were created.
 */
export async function createMissingPastPayments(
  db: Db,
  creditLimits: Readonly<Record<string, number>>,
  orders: readonly PastOrder[],
): Promise<number> {
  await createMissingAccounts(db, creditLimits);
  const existing = await db.payment.findMany({ where: { orderId: { in: orders.map((o) => o.id) } }, select: { orderId: true } });
  const known = new Set(existing.map((p) => p.orderId));
  let created = 0;
  for (const order of orders) {
    if (known.has(order.id)) continue;
    const amountCents = order.lines.reduce((sum, line) => sum + line.quantity * line.unitPriceCents, 0);
    await db.$transaction([
      db.payment.create({
        data: {
          orderId: order.id,
          customerId: order.userId,
          amountCents,
          currency: order.currency,
          status: 'CAPTURED',
          authorizedAt: order.placedAt,
          capturedAt: order.placedAt,
        },
      }),
      db.paymentAccount.update({ where: { customerId: order.userId }, data: { spentCents: { increment: amountCents } } }),
    ]);
    created++;
  }
  return created;
}
