import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedId, seedProducts } from '@mercado/dev-seed';
import { postGraphQL } from '@mercado/service-kit/testing';
import { startInProcessStack, type InProcessStack } from '../src/index.ts';
import { signIn } from './helpers.ts';
import { ledgers, placeOrder, readOrder, settled } from './sagaHelpers.ts';

// A short deadline, so the "participant never answers" case ends quickly.
process.env.SAGA_STEP_TIMEOUT_MS = '2500';

let stack: InProcessStack;
let alice: Record<string, string>;
let bob: Record<string, string>;
let db: ReturnType<typeof ledgers>;
const aliceId = seedId('user:alice');
const stocked = seedProducts.filter((p) => p.stock >= 10);
const [p1, p2, p3] = stocked.map((p) => p.id);

beforeAll(async () => {
  stack = await startInProcessStack();
  alice = await signIn(stack, 'alice@mercado.dev', 'alice-password');
  bob = await signIn(stack, 'bob@mercado.dev', 'bob-password');
  db = ledgers(stack);
  // Orders prices new orders from its replica of the catalog: wait until it has them all.
  const { Pool } = await import('pg');
  const orders = new Pool({ connectionString: stack.databaseUrls.orders, max: 1 });
  for (let i = 0; i < 300 && Number((await orders.query('SELECT count(*) AS n FROM "ProductReplica"')).rows[0].n) < seedProducts.length; i++) {
    await new Promise((r) => setTimeout(r, 50));
  }
  await orders.end();
});
afterAll(async () => {
  await db?.close();
  await stack?.close();
});

describe('the order saga through the gateway', () => {
  it('confirms an order: stock committed, payment captured, every step visible', async () => {
    const before = await db.stock([p1!, p2!]);
    const { body } = await placeOrder(stack, alice, [{ productId: p1!, quantity: 2 }, { productId: p2!, quantity: 1 }]);
    expect(body.errors).toBeUndefined();
    expect(body.data.placeOrder).toMatchObject({ status: 'PENDING', saga: { type: 'placeOrder' } });
    const order = await settled(stack, alice, body.data.placeOrder.id);
    expect(order).toMatchObject({ status: 'CONFIRMED', rejectionReason: null, payment: { status: 'CAPTURED', amountCents: order.totalCents } });
    expect(order.saga).toMatchObject({ state: 'COMPLETED', currentStep: null, failureReason: null });
    expect(order.saga.steps.map((s: any) => [s.name, s.status])).toEqual([
      ['reserveStock', 'SUCCEEDED'],
      ['authorizePayment', 'SUCCEEDED'],
      ['confirmOrder', 'SUCCEEDED'],
      ['commitStock', 'SUCCEEDED'],
      ['capturePayment', 'SUCCEEDED'],
    ]);
    expect(order.saga.steps.every((s: any) => s.attempts >= 1 && s.finishedAt >= s.startedAt)).toBe(true);
    const after = await db.stock([p1!, p2!]);
    expect(after[p1!]).toEqual({ available: before[p1!].available - 2, reserved: 0, sold: before[p1!].sold + 2 });
    expect(after[p2!]).toEqual({ available: before[p2!].available - 1, reserved: 0, sold: before[p2!].sold + 1 });
  });

  it('returns the same order for a replayed idempotency key and refuses the key with another body', async () => {
    const key = `replay-${Date.now()}`;
    const first = await placeOrder(stack, alice, [{ productId: p3!, quantity: 1 }], key);
    const again = await placeOrder(stack, alice, [{ productId: p3!, quantity: 1 }], key);
    expect(again.body.data.placeOrder.id).toBe(first.body.data.placeOrder.id);
    await settled(stack, alice, first.body.data.placeOrder.id);
    const other = await placeOrder(stack, alice, [{ productId: p3!, quantity: 2 }], key);
    expect(other.body.errors?.[0]?.extensions?.code).toBe('CONFLICT');
    const order = await readOrder(stack, alice, first.body.data.placeOrder.id);
    expect(order.saga.steps.filter((s: any) => s.name === 'reserveStock')).toHaveLength(1);
  });

  it('rejects an order the stock cannot cover, reserving and charging nothing', async () => {
    const before = await db.stock([p1!, p2!]);
    const account = await db.account(aliceId);
    const { body } = await placeOrder(stack, alice, [{ productId: p2!, quantity: 1 }, { productId: p1!, quantity: before[p1!].available + 1 }]);
    const order = await settled(stack, alice, body.data.placeOrder.id);
    expect(order).toMatchObject({ status: 'REJECTED', rejectionReason: 'INSUFFICIENT_STOCK', payment: null, saga: { state: 'COMPENSATED' } });
    expect(await db.stock([p1!, p2!])).toEqual(before);
    expect(await db.account(aliceId)).toEqual(account);
  });

  it('releases the stock when the payment is declined', async () => {
    const before = await db.stock([p1!]);
    const { body } = await placeOrder(stack, bob, [{ productId: p1!, quantity: 3 }]); // Bob has 30 EUR of credit left
    const order = await settled(stack, bob, body.data.placeOrder.id);
    expect(order).toMatchObject({ status: 'REJECTED', rejectionReason: 'PAYMENT_DECLINED', payment: { status: 'DECLINED' } });
    expect(order.saga.steps.map((s: any) => s.name)).toEqual(['reserveStock', 'authorizePayment', 'releaseStock', 'rejectOrder']);
    expect(await db.stock([p1!])).toEqual(before);
  });

  it('compensates after the deadline when a participant never answers, and ignores its late answer', async () => {
    await stack.workers.payments!.close(); // payments stops answering
    const before = await db.stock([p2!]);
    const account = await db.account(aliceId);
    const { body } = await placeOrder(stack, alice, [{ productId: p2!, quantity: 1 }]);
    const id = body.data.placeOrder.id;
    // The deadline passes: the saga gives up on the authorization and starts compensating,
    // which waits (retrying) for payments to void whatever it may still do.
    let order = await readOrder(stack, alice, id);
    for (let i = 0; i < 200 && order.saga.state !== 'COMPENSATING'; i++) {
      await new Promise((r) => setTimeout(r, 50));
      order = await readOrder(stack, alice, id);
    }
    expect(order.status).toBe('PENDING');
    expect(order.saga).toMatchObject({ state: 'COMPENSATING', currentStep: 'voidPayment', failureReason: 'TIMED_OUT' });
    expect(order.saga.steps.map((s: any) => [s.name, s.status])).toEqual([
      ['reserveStock', 'SUCCEEDED'],
      ['authorizePayment', 'TIMED_OUT'],
      ['voidPayment', 'RUNNING'],
    ]);
    // Payments comes back: its late authorization must have no effect.
    await stack.startWorkers('payments');
    const done = await settled(stack, alice, id);
    expect(done).toMatchObject({ status: 'REJECTED', rejectionReason: 'TIMED_OUT', saga: { state: 'COMPENSATED' } });
    expect(done.saga.steps.map((s: any) => s.name)).toEqual(['reserveStock', 'authorizePayment', 'voidPayment', 'releaseStock', 'rejectOrder']);
    await new Promise((r) => setTimeout(r, 500));
    expect(await db.account(aliceId)).toEqual(account);
    expect(await db.stock([p2!])).toEqual(before);
  });

  it('cancels a confirmed order: refunded once, stock back', async () => {
    const before = await db.stock([p3!]);
    const account = await db.account(aliceId);
    const { body } = await placeOrder(stack, alice, [{ productId: p3!, quantity: 2 }]);
    const placed = await settled(stack, alice, body.data.placeOrder.id);
    expect(placed.status).toBe('CONFIRMED');
    const cancel = `mutation($id: ID!) { cancelOrder(id: $id) { id status } }`;
    const first = await postGraphQL<any>(stack.gateway.url, cancel, { id: placed.id }, alice);
    expect(first.body.errors).toBeUndefined();
    const twice = await postGraphQL<any>(stack.gateway.url, cancel, { id: placed.id }, alice);
    expect(twice.body.errors).toBeUndefined();
    const cancelled = await settled(stack, alice, placed.id);
    expect(cancelled).toMatchObject({ status: 'CANCELLED', payment: { status: 'REFUNDED' }, saga: { type: 'cancelOrder', state: 'COMPLETED' } });
    expect(await db.stock([p3!])).toEqual(before);
    expect(await db.account(aliceId)).toEqual(account);
  });

  it('refuses bad orders with a clear code, reserving and charging nothing', async () => {
    const before = await db.stock([p1!]);
    const account = await db.account(aliceId);
    const bad = async (lines: unknown, key = `bad-${Math.random().toString(36).slice(2)}`) =>
      (await postGraphQL<any>(stack.gateway.url, `mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { id } }`, { input: { lines, idempotencyKey: key } }, alice)).body.errors?.[0]?.extensions;
    expect(await bad([{ productId: seedId('product:none'), quantity: 1 }])).toMatchObject({ code: 'NOT_FOUND' });
    expect(await bad([{ productId: p1, quantity: 0 }])).toMatchObject({ code: 'BAD_USER_INPUT', field: 'lines.0.quantity' });
    expect(await bad([{ productId: p1, quantity: 1000 }])).toMatchObject({ code: 'BAD_USER_INPUT', field: 'lines.0.quantity' });
    expect(await bad([])).toMatchObject({ code: 'BAD_USER_INPUT', field: 'lines' });
    expect(await bad([{ productId: 'nope', quantity: 1 }])).toMatchObject({ code: 'BAD_USER_INPUT' });
    expect(await bad([{ productId: p1, quantity: 1 }], 'short')).toMatchObject({ code: 'BAD_USER_INPUT', field: 'idempotencyKey' });
    const anonymous = await postGraphQL<any>(stack.gateway.url, `mutation { placeOrder(input: { lines: [{ productId: "${p1}", quantity: 1 }], idempotencyKey: "anonymous-1" }) { id } }`);
    expect(anonymous.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');

    const cancel = async (id: string, auth: Record<string, string>) =>
      (await postGraphQL<any>(stack.gateway.url, `mutation($id: ID!) { cancelOrder(id: $id) { id } }`, { id }, auth)).body.errors?.[0]?.extensions?.code;
    const { body } = await placeOrder(stack, alice, [{ productId: p1!, quantity: 1 }]);
    const mine = await settled(stack, alice, body.data.placeOrder.id);
    expect(await cancel(mine.id, bob)).toBe('NOT_FOUND'); // someone else's order
    const rejected = await settled(stack, bob, (await placeOrder(stack, bob, [{ productId: p1!, quantity: 5 }])).body.data.placeOrder.id);
    expect(rejected.status).toBe('REJECTED');
    expect(await cancel(rejected.id, bob)).toBe('CONFLICT'); // cancelling a rejected order
    expect(await db.stock([p1!])).toEqual({ ...before, [p1!]: { available: before[p1!].available - 1, reserved: 0, sold: before[p1!].sold + 1 } });
    expect((await db.account(aliceId)).heldCents).toBe(account.heldCents);
  });
});
