import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { seedId, seedProducts } from '@mercado/dev-seed';
import { postGraphQL } from '@mercado/service-kit/testing';
import { startInProcessStack, type InProcessStack } from '../src/index.ts';
import { signIn } from './helpers.ts';
import { SagaLedgers, type LedgerSnapshot } from '../src/sagaInvariants.ts';
import type { Line } from './sagaHelpers.ts';

// Deadlines are not what this test is about: with 200 sagas on 2 cores none may pass, so that
// every outcome comes from stock and credit.
process.env.SAGA_STEP_TIMEOUT_MS = '120000';

let stack: InProcessStack;
let ledgers: SagaLedgers;
let before: LedgerSnapshot;
const users: Record<string, Record<string, string>> = {};
const ids = { alice: seedId('user:alice'), bob: seedId('user:bob'), carol: seedId('user:carol') };

beforeAll(async () => {
  // 200 requests at once on 2 cores take a while to answer; the gateway must not give up on them.
  stack = await startInProcessStack({ gateway: { subgraphTimeoutMs: 60_000 } });
  ledgers = new SagaLedgers(stack);
  for (const name of ['admin', 'alice', 'bob', 'carol']) users[name] = await signIn(stack, `${name}@mercado.dev`, `${name}-password`);
  // Alice can pay for anything, Carol for some of what she orders, Bob (30 EUR) for almost nothing:
  // stock runs out for some orders, credit for others.
  for (const [customerId, cents] of [[ids.alice, 10_000_000], [ids.carol, 150_000]] as const) {
    const { body } = await postGraphQL<any>(
      stack.gateway.url,
      'mutation($id: ID!, $cents: Int!) { setCreditLimit(customerId: $id, creditLimitCents: $cents) { creditLimitCents } }',
      { id: customerId, cents },
      users.admin,
    );
    expect(body.errors).toBeUndefined();
  }
  await ledgers.untilCatalogReplicated();
  before = await ledgers.snapshot();
});

afterAll(async () => {
  await ledgers?.close();
  await stack?.close();
});

/** Three products with 15 to 25 units each: 200 orders ask for about four times that. */
const contended = seedProducts.filter((p) => p.stock >= 15 && p.stock <= 25).slice(0, 3);
const customers = ['alice', 'carol', 'bob', 'alice', 'carol'];

function order(i: number): { customer: string; lines: Line[] } {
  const lines: Line[] = [{ productId: contended[i % 3]!.id, quantity: 1 }];
  if (i % 4 === 0) lines.push({ productId: contended[(i + 1) % 3]!.id, quantity: 1 });
  return { customer: customers[i % customers.length]!, lines };
}

describe('200 orders at once on stock that covers some of them', () => {
  it('sells no unit twice or that it does not have, charges each confirmed order once and compensates every rejected one', async () => {
    const orders = Array.from({ length: 200 }, (_, i) => order(i));
    const placed = await Promise.all(
      orders.map((o) =>
        postGraphQL<any>(
          stack.gateway.url,
          'mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { id status } }',
          { input: { lines: o.lines, idempotencyKey: `concurrent-${randomUUID()}` } },
          users[o.customer],
        ),
      ),
    );
    expect(placed.filter(({ body }) => body.errors)).toEqual([]);
    expect(new Set(placed.map(({ body }) => body.data.placeOrder.status))).toEqual(new Set(['PENDING']));
    await ledgers.untilSagasFinished(300_000);

    const outcomes = await ledgers.sagaOrders();
    const byId = new Map(outcomes.map((o) => [o.id, o]));
    const results = placed.map(({ body }) => byId.get(body.data.placeOrder.id)!);
    const count = (status: string, reason: string | null = null) => results.filter((o) => o.status === status && o.rejectionReason === reason).length;
    // Both limits were reached: some orders went through, others found no stock or no credit.
    expect(count('CONFIRMED')).toBeGreaterThan(0);
    expect(count('REJECTED', 'INSUFFICIENT_STOCK')).toBeGreaterThan(0);
    expect(count('REJECTED', 'PAYMENT_DECLINED')).toBeGreaterThan(0);
    expect(count('CONFIRMED') + count('REJECTED', 'INSUFFICIENT_STOCK') + count('REJECTED', 'PAYMENT_DECLINED')).toBe(200);

    // No oversell: what the confirmed orders bought fits in what was stocked.
    for (const product of contended) {
      const was = before.stock.get(product.id)!;
      const bought = results
        .filter((o) => o.status === 'CONFIRMED')
        .flatMap((o) => o.lines)
        .filter((l) => l.productId === product.id)
        .reduce((sum, l) => sum + l.quantity, 0);
      expect(bought).toBeLessThanOrEqual(was.available);
    }
    // Stock conserved and nothing left reserved; each confirmed order committed and captured
    // exactly once; each rejected one released and voided or declined; no credit left held.
    expect(await ledgers.violations(before)).toEqual([]);
  }, 600_000);
});
