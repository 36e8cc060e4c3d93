import { createHash, randomUUID } from 'node:crypto';
import * as z from 'zod';
import { badInput, conflict, directSql, graphQLError, isId, notFound, parseInput, requireViewer, type Viewer } from '@mercado/service-kit';
import { burstTransactionOptions, type Db } from '../db.ts';
import type { Order } from '../generated/prisma/client.ts';
import { firstMove, nextDispatch, startSaga, type Dispatch } from '../saga/orchestrator.ts';
import { insertOrderWithSaga, newSagaId, type NewOrderRow } from '../saga/store.ts';

const MAX_LINES = 20;
const MAX_QUANTITY = 100;

const placeOrderInput = z.object({
  lines: z
    .array(
      z.object({
        productId: z.string().refine(isId, 'productId is not a valid id').transform((s) => s.toLowerCase()),
        quantity: z.number().int().min(1, 'quantity must be at least 1').max(MAX_QUANTITY, `quantity must be at most ${MAX_QUANTITY}`),
      }),
    )
    .min(1, 'an order needs at least one line')
    .max(MAX_LINES, `an order has at most ${MAX_LINES} lines`),
  idempotencyKey: z.string().regex(/^[A-Za-z0-9_-]{8,100}$/, 'idempotencyKey is 8 to 100 letters, digits, - or _'),
});

/** Same product twice means more of it; the request hash is over the merged, sorted lines. */
function mergeLines(lines: Array<{ productId: string; quantity: number }>) {
  const merged = new Map<string, number>();
  for (const l of lines) merged.set(l.productId, (merged.get(l.productId) ?? 0) + l.quantity);
  return [...merged].sort(([a], [b]) => a.localeCompare(b)).map(([productId, quantity]) => ({ productId, quantity }));
}

/**
 * Places an order and starts its saga, or returns the order this idempotency key already
 * placed. Prices come from orders' own replica of the catalog (no call to the catalog).
 * The order, its lines, its saga and the event announcing it are one statement; returns the
 * saga's first command, to send once it has committed.
 */
export async function placeOrder(
  db: Db,
  viewer: Viewer | null,
  input: unknown,
  options: { stepTimeoutMs?: number } = {},
): Promise<{ order: Order; dispatch: Dispatch | null }> {
  const customer = requireViewer(viewer);
  const { lines: rawLines, idempotencyKey } = parseInput(placeOrderInput, input);
  const lines = mergeLines(rawLines);
  if (lines.some((l) => l.quantity > MAX_QUANTITY)) throw badInput(`quantity must be at most ${MAX_QUANTITY} per product`, 'lines.quantity');
  const requestHash = createHash('sha256').update(JSON.stringify(lines)).digest('hex');

  const replay = async () => {
    const existing = await db.order.findUnique({ where: { userId_idempotencyKey: { userId: customer.id, idempotencyKey } } });
    if (existing && existing.requestHash !== requestHash) {
      throw conflict('This idempotencyKey was already used for a different order; use a new key for a new order');
    }
    return existing;
  };
  // No lookup of the key first: the insert below finds a key already used (and writes nothing),
  // and only then is the order it placed read back. A new order costs no statement for it.
  // Plain SQL: the hottest read of the order path, and Prisma's query planning and result
  // mapping cost more than the statement itself (ids are checked as UUIDs above).
  const products = await directSql(db).$queryRaw<Array<{ id: string; name: string; priceCents: number; currency: string }>>`
    SELECT "id"::text AS "id", "name", "priceCents", "currency" FROM "ProductReplica" WHERE "id" = ANY(${lines.map((l) => l.productId)}::uuid[])`;
  const byId = new Map(products.map((p) => [p.id, p]));
  for (const l of lines) if (!byId.has(l.productId)) throw notFound('Product', l.productId);
  const currencies = new Set(products.map((p) => p.currency));
  if (currencies.size > 1) throw badInput('all products of an order must have the same currency', 'lines');

  const row: NewOrderRow = {
    id: randomUUID(),
    userId: customer.id,
    currency: products[0]!.currency,
    totalCents: lines.reduce((sum, l) => sum + l.quantity * byId.get(l.productId)!.priceCents, 0),
    idempotencyKey,
    requestHash,
    lines: lines.map((l) => {
      const p = byId.get(l.productId)!;
      return { productId: l.productId, productName: p.name, unitPriceCents: p.priceCents, quantity: l.quantity };
    }),
  };
  const sagaId = newSagaId();
  const move = firstMove('placeOrder', options.stepTimeoutMs ?? 10_000);
  const placedAt = await insertOrderWithSaga(db, row, sagaId, move);
  if (!placedAt) {
    // The key placed an order already (a retry, or two requests racing): that order is the answer.
    const existing = await replay();
    if (existing) return { order: existing, dispatch: null };
    throw new Error('an order with this idempotency key was placed and has gone');
  }
  const order: Order = {
    id: row.id,
    userId: row.userId,
    status: 'PENDING',
    totalCents: row.totalCents,
    currency: row.currency,
    placedAt,
    updatedAt: placedAt,
    version: 1,
    idempotencyKey,
    requestHash,
    rejectionReason: null,
  };
  const sagaOrder = { id: row.id, userId: row.userId, totalCents: row.totalCents, currency: row.currency, lines };
  return { order, dispatch: nextDispatch({ id: sagaId, type: 'placeOrder', order: sagaOrder }, move) };
}

/** Cancels a confirmed order of the viewer's: refund and restock through a cancelOrder saga. */
export async function cancelOrder(
  db: Db,
  viewer: Viewer | null,
  orderId: string,
  options: { stepTimeoutMs?: number } = {},
): Promise<{ order: Order; dispatch: Dispatch | null }> {
  const customer = requireViewer(viewer);
  return db.$transaction(async (tx) => {
    const [locked] = await tx.$queryRaw<Array<{ id: string }>>`SELECT "id" FROM "Order" WHERE "id" = ${orderId}::uuid FOR UPDATE`;
    const order = locked ? await tx.order.findUnique({ where: { id: orderId }, include: { sagas: true, lines: { orderBy: { position: 'asc' } } } }) : null;
    if (!order || (order.userId !== customer.id && customer.role !== 'admin')) throw notFound('Order', orderId);
    if (order.sagas.some((s) => s.type === 'cancelOrder')) return { order, dispatch: null }; // already being cancelled
    const placed = order.sagas.find((s) => s.type === 'placeOrder');
    if (order.status === 'CONFIRMED' && !placed) {
      // Orders imported from before sagas (the seed's past orders) have no reservation to return.
      throw graphQLError('CONFLICT', 'This order predates online cancellation; contact support to cancel it');
    }
    if (order.status !== 'CONFIRMED') {
      throw graphQLError('CONFLICT', `Only a confirmed order can be cancelled; this one is ${order.status}`);
    }
    if (placed && placed.state !== 'COMPLETED') {
      throw graphQLError('CONFLICT', 'The order is still being completed; try cancelling again in a moment');
    }
    const sagaOrder = {
      id: order.id,
      userId: order.userId,
      totalCents: order.totalCents,
      currency: order.currency,
      lines: order.lines.map((l) => ({ productId: l.productId, quantity: l.quantity })),
      placeSagaId: placed!.id,
    };
    const dispatch = await startSaga(tx, 'cancelOrder', sagaOrder, options.stepTimeoutMs ?? 10_000, newSagaId());
    return { order, dispatch };
  }, burstTransactionOptions);
}
