import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StepResult } from '@mercado/saga';
import { createTestDatabase, type TestDatabase } from '@mercado/service-kit/testing';
import { createDb, type Db } from '../src/db.ts';
import { handleSagaMessage, startSaga } from '../src/saga/orchestrator.ts';

/*
 * OrderStatusChanged: one event in the outbox with every change of an order's status or of its
 * saga's state, in the transaction that made it, with a version of its own. The test plays the
 * participants by applying their replies itself; no relay runs, so the outbox keeps the rows.
 */

const migrations = new URL('../../../prisma/orders/migrations', import.meta.url).pathname;
let database: TestDatabase;
let db: Db;

beforeAll(async () => {
  database = await createTestDatabase('orders', migrations);
  db = createDb(database.url);
});

afterAll(async () => {
  await db?.$disconnect();
  await database?.drop();
});

async function placed(): Promise<{ orderId: string; sagaId: string; customerId: string }> {
  const customerId = randomUUID();
  return db.$transaction(async (tx) => {
    const order = await tx.order.create({
      data: {
        userId: customerId,
        status: 'PENDING',
        currency: 'EUR',
        totalCents: 1200,
        lines: { create: [{ productId: randomUUID(), productName: 'Kenya AA', quantity: 1, unitPriceCents: 1200, position: 1 }] },
      },
    });
    const { sagaId } = await startSaga(tx, 'placeOrder', order.id, order);
    return { orderId: order.id, sagaId, customerId };
  });
}

const reply = (sagaId: string, step: string, result: StepResult = { ok: true }) => handleSagaMessage(db, { kind: 'reply', sagaId, step, result });

interface Announced {
  version: number;
  orderId: string;
  customerId: string;
  status: string;
  rejectionReason: string | null;
  sagaState: string | null;
  sagaStep: string | null;
}

/** The order's OrderStatusChanged events in the outbox, oldest first; the envelope's version next to the payload. */
async function announced(orderId: string): Promise<Announced[]> {
  const rows = await db.outboxEvent.findMany({ where: { aggregateId: orderId, type: 'OrderStatusChanged' }, orderBy: { position: 'asc' } });
  return rows.map((r) => {
    const payload = r.payload as unknown as Announced;
    expect(payload.version).toBe(r.version);
    return { ...payload, version: r.version };
  });
}

describe('OrderStatusChanged', () => {
  it('announces placing, confirming and completing an order, then cancelling it, each with a new version', async () => {
    const { orderId, sagaId, customerId } = await placed();
    for (const step of ['reserveStock', 'authorizePayment', 'commitStock', 'capturePayment']) await reply(sagaId, step);
    const cancel = await db.$transaction((tx) => startSaga(tx, 'cancelOrder', orderId));
    for (const step of ['refundPayment', 'returnStock']) await reply(cancel.sagaId, step);

    const base = { orderId, customerId, rejectionReason: null };
    expect(await announced(orderId)).toEqual([
      { version: 1, ...base, status: 'PENDING', sagaState: 'RUNNING', sagaStep: 'reserveStock' }, // placed
      { version: 2, ...base, status: 'CONFIRMED', sagaState: 'RUNNING', sagaStep: 'commitStock' },
      { version: 3, ...base, status: 'CONFIRMED', sagaState: 'COMPLETED', sagaStep: null },
      { version: 4, ...base, status: 'CONFIRMED', sagaState: 'RUNNING', sagaStep: 'refundPayment' }, // cancelling
      { version: 5, ...base, status: 'CANCELLED', sagaState: 'COMPLETED', sagaStep: null },
    ]);
    expect((await db.order.findUniqueOrThrow({ where: { id: orderId } })).version).toBe(5);
    // The confirmation's own event carries the same version as its status change.
    expect((await db.outboxEvent.findMany({ where: { aggregateId: orderId, type: 'OrderConfirmed' } })).map((e) => e.version)).toEqual([2]);
  });

  it('announces a rejection with its reason once compensation is over', async () => {
    const { orderId, sagaId } = await placed();
    await reply(sagaId, 'reserveStock');
    await reply(sagaId, 'authorizePayment', { ok: false, reason: 'PAYMENT_DECLINED' });
    await reply(sagaId, 'releaseStock');
    expect((await announced(orderId)).map(({ status, rejectionReason, sagaState, sagaStep, version }) => ({ status, rejectionReason, sagaState, sagaStep, version }))).toEqual([
      { status: 'PENDING', rejectionReason: null, sagaState: 'RUNNING', sagaStep: 'reserveStock', version: 1 },
      { status: 'REJECTED', rejectionReason: 'PAYMENT_DECLINED', sagaState: 'COMPENSATED', sagaStep: null, version: 2 },
    ]);
  });

  it('announces nothing for a duplicate reply', async () => {
    const { orderId, sagaId } = await placed();
    await reply(sagaId, 'reserveStock', { ok: false, reason: 'INSUFFICIENT_STOCK' });
    await reply(sagaId, 'reserveStock', { ok: false, reason: 'INSUFFICIENT_STOCK' });
    expect((await announced(orderId)).map((e) => [e.version, e.status])).toEqual([
      [1, 'PENDING'],
      [2, 'REJECTED'],
    ]);
  });
});
