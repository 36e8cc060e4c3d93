import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type pg from 'pg';
import { seedId, seedProducts } from '@mercado/dev-seed';
import { commandQueue, replyQueue, SagaBus } from '@mercado/saga';
import { postGraphQL } from '@mercado/service-kit/testing';
import { startInProcessStack, type InProcessStack } from '../src/index.ts';
import { signIn } from './helpers.ts';
import { SagaLedgers, type LedgerSnapshot } from '../src/sagaInvariants.ts';
import { placeOrder, type Line } from './sagaHelpers.ts';
import { crashTestLocks, CrashingWorkers, WorkerProcesses } from './sagaWorkerProcesses.ts';

/*
 * The saga workers of inventory, payments and the orders orchestrator run in child processes
 * (fixtures/sagaWorkerProcess.ts) that the test SIGKILLs: first each one in the middle of its
 * transactions, then once at every step, right after the step committed and before its
 * message went out. New processes carry on; afterwards every saga has ended and the three
 * databases agree that nothing was reserved, charged or refunded twice (src/sagaInvariants.ts).
 */

// No deadline passes while workers restart, so each order's outcome depends on stock and
// credit alone (asserted exactly below) and every crash point is reached.
process.env.SAGA_STEP_TIMEOUT_MS = '120000';

const processes = new WorkerProcesses(['inventory', 'orders', 'payments']); // loaded while the stack starts
let stack: InProcessStack;
let ledgers: SagaLedgers;
let bus: SagaBus;
let before: LedgerSnapshot;
const users: Record<string, Record<string, string>> = {};
const ids = { alice: seedId('user:alice'), bob: seedId('user:bob'), carol: seedId('user:carol') };

beforeAll(async () => {
  // Placing 30 orders at once on 2 busy cores may take a while; that is not what this test is
  // about. The stack's own workers hold jobs briefly too: BullMQ runs one stalled-job check per
  // queue at a time, so theirs would decide how soon the killed processes' jobs come back.
  stack = await startInProcessStack({ gateway: { subgraphTimeoutMs: 60_000 }, sagaWorkerLocks: crashTestLocks });
  ledgers = new SagaLedgers(stack);
  bus = new SagaBus({ redisUrl: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', prefix: stack.sagaPrefix });
  for (const name of ['admin', 'alice', 'bob', 'carol']) users[name] = await signIn(stack, `${name}@mercado.dev`, `${name}-password`);
  // Credit is not what this test is about: Alice and Carol can pay for everything they order.
  for (const customerId of [ids.alice, ids.carol]) {
    const { body } = await postGraphQL<any>(
      stack.gateway.url,
      'mutation($id: ID!, $cents: Int!) { setCreditLimit(customerId: $id, creditLimitCents: $cents) { creditLimitCents } }',
      { id: customerId, cents: 10_000_000 },
      users.admin,
    );
    expect(body.errors).toBeUndefined();
  }
  await ledgers.untilCatalogReplicated();
  before = await ledgers.snapshot();
});

afterAll(async () => {
  await processes.close();
  await bus?.close();
  await ledgers?.close();
  await stack?.close();
});

const plentiful = seedProducts.filter((p) => p.stock >= 20);
const expensive = plentiful.filter((p) => p.priceCents > 3_000); // more than Bob's 30 EUR of credit
const scarce = seedProducts.filter((p) => p.stock < 20);

type Kind = 'paid' | 'declined' | 'outOfStock';

/**
 * 30 orders whose outcome is known in advance: 16 that Alice and Carol can pay for, from
 * products in stock (confirmed); 8 by Bob over his credit (reserved, declined, released); 6
 * asking for more than there is (rejected).
 */
function batch(): Array<{ kind: Kind; customer: string; lines: Line[] }> {
  const orders: Array<{ kind: Kind; customer: string; lines: Line[] }> = [];
  for (let k = 0; k < 16; k++) {
    const lines = [{ productId: plentiful[k % plentiful.length]!.id, quantity: 1 }];
    if (k % 4 === 3) lines.push({ productId: plentiful[(k + 13) % plentiful.length]!.id, quantity: 1 });
    orders.push({ kind: 'paid', customer: k % 2 ? 'carol' : 'alice', lines });
  }
  for (let k = 0; k < 8; k++) orders.push({ kind: 'declined', customer: 'bob', lines: [{ productId: expensive[k]!.id, quantity: 1 }] });
  for (let k = 0; k < 6; k++) orders.push({ kind: 'outOfStock', customer: k % 2 ? 'carol' : 'alice', lines: [{ productId: scarce[k]!.id, quantity: 100 }] });
  return orders;
}

/**
 * Where each service's workers die after the first, mid-transaction kill: one process per
 * step, right after the step's transaction committed and before anyone hears of it (a
 * participant's reply, the orchestrator's next command).
 */
const crashPoints: Record<string, string[]> = {
  inventory: ['reserveStock', 'commitStock', 'releaseStock', 'returnStock'],
  payments: ['authorizePayment', 'capturePayment', 'refundPayment'],
  // The orchestrator's sends: after reserving, after authorizing (and confirming), after
  // committing, after a decline, after a refund.
  orders: ['authorizePayment', 'commitStock', 'capturePayment', 'releaseStock', 'returnStock'],
};

/** Holds rows in a transaction the test keeps open: workers that need them wait in the middle of theirs. */
async function holdRows(pool: pg.Pool, sql: string, params: unknown[]): Promise<{ release(): Promise<void> }> {
  const client = await pool.connect();
  await client.query('BEGIN');
  await client.query(sql, params);
  let released = false;
  return {
    async release() {
      if (released) return;
      released = true;
      await client.query('ROLLBACK');
      client.release();
    },
  };
}

async function untilActive(queueName: string, atLeast: number, timeoutMs = 180_000): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const active = await bus.queue(queueName).getJobs(['active']);
    if (active.length >= atLeast) return active.map((job) => job.id!);
    if (Date.now() > deadline) {
      const counts = await bus.queue(queueName).getJobCounts();
      throw new Error(`${queueName}: ${active.length} active jobs after ${timeoutMs / 1000} s, expected ${atLeast} (${JSON.stringify(counts)})`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('order sagas survive workers killed mid-step', () => {
  it('inventory, the orders orchestrator and payments, each SIGKILLed mid-transaction and at every step: all sagas end, nothing twice', async () => {
    const orders = batch();
    const services = ['inventory', 'orders', 'payments'];
    for (const service of services) await stack.workers[service]!.close();
    const products = [...new Set(orders.flatMap((o) => o.lines.map((l) => l.productId)))];
    const held: Array<{ release(): Promise<void> }> = [];
    const chains = new Map<string, CrashingWorkers>();
    try {
      const stock = await holdRows(ledgers.inventory, 'SELECT 1 FROM "StockItem" WHERE "productId" = ANY($1::uuid[]) FOR UPDATE', [products]);
      held.push(stock);
      const credit = await holdRows(ledgers.payments, 'SELECT 1 FROM "PaymentAccount" WHERE "customerId" = ANY($1::uuid[]) FOR UPDATE', [Object.values(ids)]);
      held.push(credit);
      const placed = await Promise.all(orders.map((o) => placeOrder(stack, users[o.customer]!, o.lines)));
      for (const { body } of placed) expect(body.errors).toBeUndefined();
      const orderIds = placed.map(({ body }) => body.data.placeOrder.id as string);
      const sagas = await holdRows(ledgers.orders, 'SELECT 1 FROM "Saga" WHERE "orderId" = ANY($1::uuid[]) FOR UPDATE', [orderIds]);
      held.push(sagas);
      for (const service of services) chains.set(service, await CrashingWorkers.start(processes, stack, service, crashPoints[service]!));

      // In turn, as the sagas reach each service: its jobs wait for rows the test holds, in the
      // middle of their transactions; the process is killed, another starts, the rows are let go.
      for (const [service, queue, rows] of [
        ['inventory', commandQueue('inventory'), stock],
        ['orders', replyQueue('orders'), sagas],
        ['payments', commandQueue('payments'), credit],
      ] as const) {
        const inFlight = await untilActive(queue, 3);
        expect(await chains.get(service)!.kill()).toMatchObject({ signal: 'SIGKILL' });
        // Killed half done: none of those jobs finished (they may be back in the queue already).
        const states = await Promise.all(inFlight.map((id) => bus.queue(queue).getJobState(id)));
        expect(states.filter((state) => state !== 'active' && state !== 'waiting'), service).toEqual([]);
        await rows.release();
      }
      await ledgers.untilSagasFinished(300_000);

      // Cancelling confirmed orders refunds them and returns their stock, through the same crashing workers.
      const toCancel = [0, 1, 2];
      for (const i of toCancel) {
        const cancel = 'mutation($id: ID!) { cancelOrder(id: $id) { id } }';
        const { body } = await postGraphQL<any>(stack.gateway.url, cancel, { id: orderIds[i] }, users[orders[i]!.customer]);
        expect(body.errors).toBeUndefined();
      }
      await ledgers.untilSagasFinished(300_000);

      // Every crash point was reached: a process died there, and the next one carried on.
      for (const service of services) expect(chains.get(service)!.crashes.toSorted(), service).toEqual(crashPoints[service]!.toSorted());

      const outcomes = new Map((await ledgers.sagaOrders()).map((o) => [o.id, o]));
      const expected = { paid: 'CONFIRMED', declined: 'REJECTED PAYMENT_DECLINED', outOfStock: 'REJECTED INSUFFICIENT_STOCK' };
      expect(orderIds.map((id) => [outcomes.get(id)!.status, outcomes.get(id)!.rejectionReason].filter(Boolean).join(' '))).toEqual(
        orders.map((o, i) => (toCancel.includes(i) ? 'CANCELLED' : expected[o.kind])),
      );
      expect(await ledgers.violations(before)).toEqual([]);
    } finally {
      for (const rows of held) await rows.release();
      for (const chain of chains.values()) await chain.stop();
      for (const service of services) if (!chains.get(service)?.handedOver) await stack.startWorkers(service);
    }
  }, 900_000);
});
