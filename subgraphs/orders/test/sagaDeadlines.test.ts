import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deleteSagaKeys, replyQueue, SagaBus, Worker } from '@mercado/saga';
import { createLogger } from '@mercado/service-kit';
import { createTestDatabase, type TestDatabase } from '@mercado/service-kit/testing';
import { Redis } from 'ioredis';
import { createDb, type Db } from '../src/db.ts';
import { dispatch, firstMove, ORCHESTRATOR, startOrchestrator } from '../src/saga/orchestrator.ts';
import { insertOrderWithSaga, newSagaId } from '../src/saga/store.ts';

/*
 * The orchestrator's deadlines against real Redis and PostgreSQL, with no participant running:
 * the test plays inventory (or its silence) itself. A step's deadline is a column of its saga's
 * row; one query finds every saga past it.
 */

const migrations = new URL('../../../prisma/orders/migrations', import.meta.url).pathname;
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = `test-orders-deadlines-${randomUUID().slice(0, 8)}`;
const replies = replyQueue(ORCHESTRATOR);
const STEP_TIMEOUT_MS = 300;

let database: TestDatabase;
let db: Db;
let bus: SagaBus;
let orchestrator: ReturnType<typeof startOrchestrator> | undefined;

beforeAll(async () => {
  database = await createTestDatabase('orders', migrations);
  db = createDb(database.url);
  bus = new SagaBus({ redisUrl, prefix });
});

afterAll(async () => {
  await orchestrator?.close();
  await bus?.close();
  await deleteSagaKeys(redisUrl, prefix);
  await db?.$disconnect();
  await database?.drop();
});

/** The orchestrator, checking deadlines often, sweeping only when the test says so. */
function ensureOrchestrator(): ReturnType<typeof startOrchestrator> {
  orchestrator ??= startOrchestrator({
    db,
    bus,
    logger: createLogger('orders', 'silent'),
    stepTimeoutMs: STEP_TIMEOUT_MS,
    sweepIntervalMs: 3_600_000,
    deadlineIntervalMs: 50,
  });
  return orchestrator;
}

/** A pending order and its placeOrder saga, whose first command (reserveStock) is sent. */
async function placeOrderSaga(stepTimeoutMs: number): Promise<string> {
  const sagaId = newSagaId();
  const move = firstMove('placeOrder', stepTimeoutMs);
  const order = {
    id: randomUUID(),
    userId: randomUUID(),
    currency: 'EUR',
    totalCents: 1200,
    idempotencyKey: `key-${randomUUID()}`,
    requestHash: 'h',
    lines: [{ productId: randomUUID(), productName: 'Kenya AA', quantity: 1, unitPriceCents: 1200 }],
  };
  expect(await insertOrderWithSaga(db, order, sagaId, move)).toBeInstanceOf(Date);
  expect(move.currentStep).toBe('reserveStock');
  await dispatch(bus, { sagaId, step: 'reserveStock', type: 'placeOrder', state: 'RUNNING', failureReason: null, order: { ...order, lines: [{ productId: order.lines[0]!.productId, quantity: 1 }] } });
  return sagaId;
}

async function until<T>(what: string, read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`${what}: still ${JSON.stringify(value)} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const sagaState = (id: string) =>
  db.saga.findUniqueOrThrow({
    where: { id },
    select: { state: true, currentStep: true, failureReason: true, steps: { select: { name: true, status: true }, orderBy: { position: 'asc' } } },
  });
const deadlineOf = async (id: string) => (await db.saga.findUniqueOrThrow({ where: { id }, select: { deadlineAt: true } })).deadlineAt;

/**
 * Plays an orchestrator process that takes the job and dies holding it, twice: a worker that
 * fetches it by hand and never renews its lock, while its stalled-job check hands it back.
 * The second time BullMQ marks the job to fail when next fetched ("stalled more than allowable limit").
 */
async function dieTwiceHolding(jobId: string): Promise<void> {
  const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
  const doomed = new Worker(replies, null, { connection, prefix, autorun: false, lockDuration: 300, stalledInterval: 100 });
  try {
    await doomed.startStalledCheckTimer();
    for (let death = 1; death <= 2; death++) {
      const job = await until(`the job, taken for the ${death}. time`, () => doomed.getNextJob(`dead-${death}`, { block: false }), (j) => j !== undefined);
      expect(job!.id).toBe(jobId);
      await until(`${jobId} after its ${death}. worker died`, () => bus.queue(replies).getJobState(jobId), (state) => state === 'waiting');
    }
  } finally {
    await doomed.close();
    await connection.quit();
  }
}

describe('saga deadlines', () => {
  // First: no orchestrator may run yet, or it would take the reply before the doomed workers do.
  it('a reply that failed for good (its worker died twice holding it) is revived by the sweep', async () => {
    const sagaId = await placeOrderSaga(60_000);
    const replyId = `${sagaId}.reserveStock.reply`;
    await bus.sendReply(replies, { kind: 'reply', sagaId, step: 'reserveStock', result: { ok: true }, attempts: 1 });
    await dieTwiceHolding(replyId);

    // A live orchestrator fetches it next: BullMQ fails it without running it.
    const { sweep } = ensureOrchestrator();
    const finished = await until('the reply', () => bus.queue(replies).getJobState(replyId), (state) => state === 'failed' || state === 'completed');
    expect(finished).toBe('failed');
    expect(await sagaState(sagaId)).toMatchObject({ state: 'RUNNING', currentStep: 'reserveStock' });

    // The saga has been idle past the sweep's threshold; the sweep revives the reply.
    await db.$executeRaw`UPDATE "Saga" SET "updatedAt" = now() - interval '1 minute' WHERE "id" = ${sagaId}::uuid`;
    expect(await sweep()).toBeGreaterThanOrEqual(1);
    const saga = await until(`saga ${sagaId}`, () => sagaState(sagaId), (s) => s.currentStep !== 'reserveStock');
    expect(saga).toMatchObject({ state: 'RUNNING', currentStep: 'authorizePayment' });
  });

  it('gives up on a step past its deadline: the saga compensates, and the deadline is gone', async () => {
    ensureOrchestrator();
    const sagaId = await placeOrderSaga(STEP_TIMEOUT_MS); // inventory never answers
    expect((await deadlineOf(sagaId))!.getTime()).toBeGreaterThan(Date.now() - 1_000);
    const saga = await until(`saga ${sagaId}`, () => sagaState(sagaId), (s) => s.state !== 'RUNNING');
    expect(saga).toEqual({
      state: 'COMPENSATING',
      currentStep: 'releaseStock',
      failureReason: 'TIMED_OUT',
      steps: [
        { name: 'reserveStock', status: 'TIMED_OUT' },
        { name: 'releaseStock', status: 'RUNNING' },
      ],
    });
    // A compensation retries until done: it has no deadline.
    expect(await deadlineOf(sagaId)).toBeNull();
    // The late answer changes nothing.
    await bus.sendReply(replies, { kind: 'reply', sagaId, step: 'reserveStock', result: { ok: true }, attempts: 1 });
    await until('the late reply', () => bus.queue(replies).getJobState(`${sagaId}.reserveStock.reply`), (state) => state === 'completed');
    expect((await sagaState(sagaId)).currentStep).toBe('releaseStock');
  });

  it("replaces a step's deadline with the next step's once its reply has been applied", async () => {
    ensureOrchestrator();
    const sagaId = await placeOrderSaga(60_000);
    const first = await deadlineOf(sagaId);
    // Inventory reserves and answers; the orchestrator moves on to the payment, with a deadline of its own.
    await bus.sendReply(replies, { kind: 'reply', sagaId, step: 'reserveStock', result: { ok: true }, attempts: 1 });
    await until('the reply', () => bus.queue(replies).getJobState(`${sagaId}.reserveStock.reply`), (state) => state === 'completed' || state === 'failed');
    expect(await bus.queue(replies).getJobState(`${sagaId}.reserveStock.reply`)).toBe('completed');
    // Payments never answers, so the saga times out there (STEP_TIMEOUT_MS after the reply).
    const saga = await until(`saga ${sagaId}`, () => sagaState(sagaId), (s) => s.state !== 'RUNNING');
    expect(first!.getTime()).toBeGreaterThan(Date.now() + 30_000);
    expect(saga).toEqual({
      state: 'COMPENSATING',
      currentStep: 'voidPayment',
      failureReason: 'TIMED_OUT',
      steps: [
        { name: 'reserveStock', status: 'SUCCEEDED' },
        { name: 'authorizePayment', status: 'TIMED_OUT' },
        { name: 'voidPayment', status: 'RUNNING' },
      ],
    });
  });
});
