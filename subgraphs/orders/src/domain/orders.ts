import * as z from 'zod';
import { forbidden, isId, notFound, parseInput, requireViewer, type Viewer } from '@mercado/service-kit';
import { appendToOutbox } from '@mercado/event-bus';
import type { Db } from '../db.ts';
import { OrderConfirmed } from '../events/OrderConfirmed.ts';
import { Prisma, type Order, type OrderLine } from '../generated/prisma/client.ts';

export type { Order, OrderLine };

const MAX_PAGE = 100;
const pageMessage = `first must be between 1 and ${MAX_PAGE}`;
const listArgs = z.object({ first: z.number().int(pageMessage).min(1, pageMessage).max(MAX_PAGE, pageMessage) });

/** Ownership rule shared by `order(id)` and entity references. */
export function canSeeOrder(viewer: Viewer | null, order: Pick<Order, 'userId'>): boolean {
  return viewer !== null && (viewer.role === 'admin' || viewer.id.toLowerCase() === order.userId);
}

/**
 * Checks that the viewer may list `userId`'s orders and that `first` is a valid page size;
 * returns the page size. Anonymous: UNAUTHENTICATED; another customer: FORBIDDEN.
 */
export function authorizeOrderList(viewer: Viewer | null, userId: string, first: number): number {
  const v = requireViewer(viewer);
  if (v.role !== 'admin' && v.id.toLowerCase() !== userId.toLowerCase()) {
    throw forbidden("Only the user themself or an admin may read a user's orders");
  }
  return parseInput(listArgs, { first }).first;
}

/** One query for any number of ids; the result is in the order of `ids`, null where unknown. */
export async function ordersByIds(db: Db, ids: readonly string[]): Promise<Array<Order | null>> {
  const rows = await db.order.findMany({ where: { id: { in: [...ids] } } });
  const byId = new Map(rows.map((o) => [o.id, o]));
  return ids.map((id) => byId.get(id) ?? null);
}

/**
 * The newest `first` orders of each user, newest first, in one query for all users. A lateral
 * join walks the (userId, placedAt desc) index once per user and stops after `first` rows, so a
 * user with thousands of orders costs no more than one with a few.
 */
export async function recentOrdersByUserIds(db: Db, userIds: readonly string[], first: number): Promise<Order[][]> {
  const valid = [...new Set(userIds.filter(isId).map((id) => id.toLowerCase()))];
  const rows = valid.length
    ? await db.$queryRaw<Order[]>(Prisma.sql`
        SELECT o."id", o."userId", o."status"::text AS "status", o."totalCents", o."currency",
               o."placedAt", o."updatedAt"
        FROM unnest(${valid}::uuid[]) AS u("id")
        CROSS JOIN LATERAL (
          SELECT * FROM "Order" WHERE "userId" = u."id"
          ORDER BY "placedAt" DESC, "id" DESC
          LIMIT ${first}
        ) AS o`)
    : [];
  const byUser = new Map<string, Order[]>();
  for (const row of rows) {
    const list = byUser.get(row.userId);
    if (list) list.push(row);
    else byUser.set(row.userId, [row]);
  }
  return userIds.map((id) => byUser.get(id.toLowerCase()) ?? []);
}

/** Lines of many orders in one query, grouped in the order of `orderIds`. */
export async function linesByOrderIds(db: Db, orderIds: readonly string[]): Promise<OrderLine[][]> {
  const rows = await db.orderLine.findMany({ where: { orderId: { in: [...orderIds] } }, orderBy: [{ orderId: 'asc' }, { position: 'asc' }] });
  const byOrder = new Map<string, OrderLine[]>();
  for (const row of rows) {
    const list = byOrder.get(row.orderId);
    if (list) list.push(row);
    else byOrder.set(row.orderId, [row]);
  }
  return orderIds.map((id) => byOrder.get(id) ?? []);
}

/** NOT_FOUND both for unknown orders and for other people's, so existence is not revealed. */
export function visibleOrderOrThrow(viewer: Viewer | null, id: string, order: Order | null): Order {
  if (!order || !canSeeOrder(viewer, order)) throw notFound('Order', id);
  return order;
}

export interface NewOrderLine {
  productId: string;
  productName: string;
  quantity: number;
  unitPriceCents: number;
}

/** The order total is fixed at creation from its lines. */
export function orderTotalCents(lines: readonly Pick<NewOrderLine, 'quantity' | 'unitPriceCents'>[]): number {
  return lines.reduce((sum, line) => sum + line.quantity * line.unitPriceCents, 0);
}

export interface NewOrder {
  id: string;
  userId: string;
  status: Order['status'];
  currency: string;
  placedAt: Date;
  lines: NewOrderLine[];
}

/** Creates orders whose ids do not exist yet, each with its lines in one transaction; returns how many were created. */
export async function createMissingOrders(db: Db, orders: readonly NewOrder[]): Promise<number> {
  const existing = await db.order.findMany({ where: { id: { in: orders.map((o) => o.id) } }, select: { id: true } });
  const known = new Set(existing.map((o) => o.id));
  let created = 0;
  for (const { lines, ...order } of orders) {
    if (known.has(order.id)) continue;
    await db.$transaction(async (tx) => {
      const created = await tx.order.create({
        data: { ...order, updatedAt: order.placedAt, totalCents: orderTotalCents(lines), lines: { create: lines.map((line, i) => ({ ...line, position: i + 1 })) } },
        include: { lines: true },
      });
      // Past orders are confirmed ones: announce them like any confirmation (reviews marks
      // verified purchases from it).
      if (created.status === 'CONFIRMED') await appendToOutbox(tx, OrderConfirmed(created));
    });
    created++;
  }
  return created;
}
