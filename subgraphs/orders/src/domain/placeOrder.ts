import { createHash } from 'node:crypto';
import { z } from 'zod';
import { badInput, conflict, graphQLError, isId, notFound, parseInput, requireViewer, type Viewer } from '@mercado/service-kit';
import { burstTransactionOptions, type Db } from '../db.ts';
import type { Order } from '../generated/prisma/client.ts';
import { startSaga, type Dispatch } from '../saga/orchestrator.ts';

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
 * Returns the saga's first command, to send once the transaction has committed.
 */
export async function placeOrder(db: Db, viewer: Viewer | null, input: unknown): Promise<{ order: Order; dispatch: Dispatch | null }> {
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
  const existing = await replay();
  if (existing) return { order: existing, dispatch: null };

  const products = await db.productReplica.findMany({ where: { id: { in: lines.map((l) => l.productId) } } });
  const byId = new Map(products.map((p) => [p.id, p]));
  for (const l of lines) if (!byId.has(l.productId)) throw notFound('Product', l.productId);
  const currencies = new Set(products.map((p) => p.currency));
  if (currencies.size > 1) throw badInput('all products of an order must have the same currency', 'lines');

  try {
    return await db.$transaction(async (tx) => {
      const order = await tx.order.create({
        data: {
          userId: customer.id,
          status: 'PENDING',
          currency: products[0]!.currency,
          totalCents: lines.reduce((sum, l) => sum + l.quantity * byId.get(l.productId)!.priceCents, 0),
          idempotencyKey,
          requestHash,
          lines: {
            create: lines.map((l, i) => {
              const p = byId.get(l.productId)!;
              return { productId: l.productId, productName: p.name, unitPriceCents: p.priceCents, quantity: l.quantity, position: i + 1 };
            }),
          },
        },
      });
      const { dispatch } = await startSaga(tx, 'placeOrder', order.id, order);
      return { order, dispatch };
    }, burstTransactionOptions);
  } catch (error) {
    // Two requests with one key raced; the loser returns the winner's order.
    if ((error as { code?: string }).code === 'P2002') {
      const winner = await replay();
      if (winner) return { order: winner, dispatch: null };
    }
    throw error;
  }
}

/** Cancels a confirmed order of the viewer's: refund and restock through a cancelOrder saga. */
export async function cancelOrder(db: Db, viewer: Viewer | null, orderId: string): Promise<{ order: Order; dispatch: Dispatch | null }> {
  const customer = requireViewer(viewer);
  return db.$transaction(async (tx) => {
    const [locked] = await tx.$queryRaw<Array<{ id: string }>>`SELECT "id" FROM "Order" WHERE "id" = ${orderId}::uuid FOR UPDATE`;
    const order = locked ? await tx.order.findUnique({ where: { id: orderId }, include: { sagas: true } }) : null;
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
    const { dispatch } = await startSaga(tx, 'cancelOrder', order.id);
    return { order, dispatch };
  }, burstTransactionOptions);
}
