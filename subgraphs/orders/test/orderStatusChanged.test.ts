import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StepResult } from '@mercado/saga';
import { createTestDatabase, type TestDatabase } from '@mercado/service-kit/testing';
import { createDb, type Db } from '../src/db.ts';
import { firstMove, handleSagaMessage, startSaga } from '../src/saga/orchestrator.ts';
import { insertOrderWithSaga, loadSaga, newSagaId } from '../src/saga/store.ts';

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
  const orderId = randomUUID();
  const sagaId = newSagaId();
  const order = {
    id: orderId,
    userId: customerId,
    currency: 'EUR',
    totalCents: 1200,
    idempotencyKey: `key-${orderId}`,
    requestHash: 'h',
    lines: [{ productId: randomUUID(), productName: 'Kenya AA', quantity: 1, unitPriceCents: 1200 }],
  };
  await insertOrderWithSaga(db, order, sagaId, firstMove('placeOrder', 10_000));
  return { orderId, sagaId, customerId };
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
    const placeSaga = (await loadSaga(db, sagaId))!;
    const cancelId = newSagaId();
    await db.$transaction((tx) => startSaga(tx, 'cancelOrder', { ...placeSaga.order, placeSagaId: sagaId }, 10_000, cancelId));
    for (const step of ['refundPayment', 'returnStock']) await reply(cancelId, step);

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

  it("is the order's own guard: a confirmation of an order that is no longer PENDING moves neither the order nor the saga", async () => {
    const { orderId, sagaId } = await placed();
    await reply(sagaId, 'reserveStock');
    // Something else (a bug, a hand edit) has moved the order on.
    await db.order.update({ where: { id: orderId }, data: { status: 'CANCELLED' } });
    await expect(reply(sagaId, 'authorizePayment')).rejects.toThrow(/could not be moved/);
    expect(await db.order.findUniqueOrThrow({ where: { id: orderId }, select: { status: true, version: true } })).toEqual({ status: 'CANCELLED', version: 1 });
    expect(await loadSaga(db, sagaId)).toMatchObject({ state: 'RUNNING', currentStep: 'authorizePayment' });
    expect((await announced(orderId)).map((e) => e.status)).toEqual(['PENDING']);
  });

  it('applies a reply by its echo; a stale or wrong echo fails the guard and the saga is read instead', async () => {
    const { orderId, sagaId } = await placed();
    const { order } = (await loadSaga(db, sagaId))!;
    const echo = { type: 'placeOrder', state: 'RUNNING', failureReason: null, order };
    const echoed = (step: string, e: unknown) => handleSagaMessage(db, { kind: 'reply', sagaId, step, result: { ok: true }, echo: e });
    expect(await echoed('reserveStock', echo)).toMatchObject({ sagaId, step: 'authorizePayment', type: 'placeOrder', state: 'RUNNING', failureReason: null, order });
    // The same reply again: its echo is stale now, and what comes back is the step the saga waits on.
    expect(await echoed('reserveStock', echo)).toMatchObject({ step: 'authorizePayment' });
    // An echo that does not match the saga (here a compensation that never began) is not believed.
    expect(await echoed('authorizePayment', { ...echo, state: 'COMPENSATING', failureReason: 'TIMED_OUT' })).toMatchObject({ step: 'commitStock', state: 'RUNNING', failureReason: null });
    expect(await loadSaga(db, sagaId)).toMatchObject({ state: 'RUNNING', currentStep: 'commitStock', failureReason: null });
    expect((await announced(orderId)).map((e) => [e.version, e.status])).toEqual([
      [1, 'PENDING'],
      [2, 'CONFIRMED'],
    ]);
  });
});
