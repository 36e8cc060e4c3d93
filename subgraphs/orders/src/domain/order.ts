/**
 * The order aggregate's status transitions, each guarded by the status it starts from: a
 * transition applies to an order in its `from` status and to nothing else, in one statement that
 * bumps the order's version and returns what the order's events carry. The saga orchestrator asks
 * for a transition; it never writes an order's status itself.
 */
import { Prisma } from '../generated/prisma/client.ts';
import type { OrderStatusSnapshot } from '../events/OrderStatusChanged.ts';

export type OrderStatus = OrderStatusSnapshot['status'];

export const orderTransitions = {
  /** Stock reserved and payment authorized: the order stands. */
  confirm: { from: 'PENDING', to: 'CONFIRMED' },
  /** The saga gave up (stock, payment, a deadline) and undid what it had done. */
  reject: { from: 'PENDING', to: 'REJECTED' },
  /** A confirmed order refunded and restocked. */
  cancel: { from: 'CONFIRMED', to: 'CANCELLED' },
} as const satisfies Record<string, { from: OrderStatus; to: OrderStatus }>;

export type OrderTransition = keyof typeof orderTransitions;

/** What the statement returns: the order as its OrderStatusChanged announces it. */
export const orderStatusColumns = Prisma.sql`"id"::text AS "id", "userId"::text AS "userId", "status"::text AS "status", "rejectionReason", "version"`;

/**
 * `UPDATE "Order"` for one transition of `orderId` (or, with `transition` null, a version bump
 * alone: the order's saga changed state while its status stayed), guarded by the `from` status,
 * only when `when` holds (a condition of the statement it is part of, such as its saga guard).
 */
export function orderTransitionSql(orderId: string, transition: OrderTransition | null, when: Prisma.Sql, rejectionReason: string | null = null): Prisma.Sql {
  const set = transition
    ? Prisma.sql`"status" = ${orderTransitions[transition].to}::"OrderStatus",
        "rejectionReason" = ${transition === 'reject' ? rejectionReason : null}::text,`
    : Prisma.empty;
  const guard = transition ? Prisma.sql`AND "status" = ${orderTransitions[transition].from}::"OrderStatus"` : Prisma.empty;
  return Prisma.sql`
    UPDATE "Order" SET ${set} "version" = "version" + 1, "updatedAt" = (now() AT TIME ZONE 'UTC')
    WHERE "id" = ${orderId}::uuid ${guard} AND ${when}
    RETURNING ${orderStatusColumns}`;
}
