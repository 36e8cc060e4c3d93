import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedCreditLimits, seedOrders, seedUsers } from '@mercado/dev-seed';
import { createLogger, type RunningService, type Viewer } from '@mercado/service-kit';
import { createTestDatabase, gatewayHeaders, postGraphQL, testInternalSecret, type TestDatabase } from '@mercado/service-kit/testing';
import { createDb, type Db } from '../src/db.ts';
import { authorize, capture } from '../src/domain/payments.ts';
import { seed } from '../src/seed.ts';
import { startPayments } from '../src/service.ts';

const migrations = new URL('../../../prisma/payments/migrations', import.meta.url).pathname;
const admin: Viewer = { id: randomUUID(), role: 'admin' };
const customer = (): Viewer => ({ id: randomUUID(), role: 'customer' });
/** The service and the saga's authorizations must agree on it, as they do through DEFAULT_CREDIT_LIMIT_CENTS. */
const defaults = { defaultCreditLimitCents: 7_000 };

let database: TestDatabase;
let db: Db;
let service: RunningService;
const sql: string[] = [];

beforeAll(async () => {
  database = await createTestDatabase('payments', migrations);
  db = createDb(database.url, (q) => sql.push(q));
  service = await startPayments(
    db,
    { port: 0, internalTokenSecret: testInternalSecret, logger: createLogger('payments', 'silent') },
    defaults,
  );
});

afterAll(async () => {
  await service?.close();
  await db?.$disconnect();
  await database?.drop();
});

const query = async (q: string, variables = {}, viewer: Viewer | null = null) =>
  postGraphQL(service.url, q, variables, await gatewayHeaders(viewer));

/** An order of `customerId`'s for `amountCents`, authorized and, if asked, captured. */
async function paidOrder(customerId: string, amountCents: number, captured = false): Promise<string> {
  const orderId = randomUUID();
  const sagaId = `saga-${orderId}`;
  expect(await authorize(db, { sagaId, orderId, customerId, amountCents, currency: 'EUR' }, defaults)).toMatchObject({ ok: true });
  if (captured) expect(await capture(db, { sagaId, orderId })).toMatchObject({ ok: true });
  return orderId;
}

const accountQuery = `query($reps: [_Any!]!) { _entities(representations: $reps) {
  ... on User { id paymentAccount { creditLimitCents heldCents spentCents availableCents currency } } } }`;
const paymentQuery = `query($reps: [_Any!]!) { _entities(representations: $reps) {
  ... on Order { id payment { id status amountCents currency declineReason authorizedAt capturedAt voidedAt refundedAt } } } }`;
const userRep = (id: string) => ({ __typename: 'User', id });
const orderRep = (id: string) => ({ __typename: 'Order', id });

describe('User.paymentAccount', () => {
  it('is visible to its owner and admins, null for other customers and anonymous callers', async () => {
    const owner = customer();
    await paidOrder(owner.id, 1_000, true);
    await paidOrder(owner.id, 500);
    const expected = { creditLimitCents: 7_000, heldCents: 500, spentCents: 1_000, availableCents: 5_500, currency: 'EUR' };

    for (const viewer of [owner, admin, { ...owner, id: owner.id.toUpperCase() }]) {
      const { body } = await query(accountQuery, { reps: [userRep(owner.id)] }, viewer);
      expect(body.errors).toBeUndefined();
      expect(body.data!._entities).toEqual([{ id: owner.id, paymentAccount: expected }]);
    }
    for (const viewer of [customer(), null]) {
      const { body } = await query(accountQuery, { reps: [userRep(owner.id)] }, viewer);
      expect(body.errors).toBeUndefined();
      expect(body.data!._entities).toEqual([{ id: owner.id, paymentAccount: null }]);
    }
  });

  it('shows the default credit to a customer who has never paid, without opening an account', async () => {
    const newcomer = customer();
    const { body } = await query(accountQuery, { reps: [userRep(newcomer.id)] }, newcomer);
    expect(body.data!._entities[0].paymentAccount).toEqual({ creditLimitCents: 7_000, heldCents: 0, spentCents: 0, availableCents: 7_000, currency: 'EUR' });
    expect(await db.paymentAccount.count({ where: { customerId: newcomer.id } })).toBe(0);
    const malformed = await query(accountQuery, { reps: [userRep('not-an-id')] }, admin);
    expect(malformed.body.data!._entities).toEqual([{ id: 'not-an-id', paymentAccount: null }]);
  });

  it('loads the accounts of 20 users in one query', async () => {
    const users = Array.from({ length: 20 }, () => randomUUID());
    for (const [i, id] of users.entries()) await paidOrder(id, 100 + i);
    sql.length = 0;
    const { body } = await query(accountQuery, { reps: users.map(userRep) }, admin);
    expect(body.errors).toBeUndefined();
    expect(sql).toHaveLength(1);
    expect(body.data!._entities.map((u: { paymentAccount: { heldCents: number } }) => u.paymentAccount.heldCents)).toEqual(users.map((_, i) => 100 + i));
  });
});

describe('Order.payment', () => {
  it('is visible to the paying customer and admins, null for others and before authorization', async () => {
    const owner = customer();
    const orderId = await paidOrder(owner.id, 2_500, true);
    const stored = await db.payment.findUniqueOrThrow({ where: { orderId } });
    const expected = {
      id: stored.id,
      status: 'CAPTURED',
      amountCents: 2_500,
      currency: 'EUR',
      declineReason: null,
      authorizedAt: stored.authorizedAt!.toISOString(),
      capturedAt: stored.capturedAt!.toISOString(),
      voidedAt: null,
      refundedAt: null,
    };
    for (const viewer of [owner, admin]) {
      const { body } = await query(paymentQuery, { reps: [orderRep(orderId)] }, viewer);
      expect(body.errors).toBeUndefined();
      expect(body.data!._entities).toEqual([{ id: orderId, payment: expected }]);
    }
    for (const viewer of [customer(), null]) {
      const { body } = await query(paymentQuery, { reps: [orderRep(orderId)] }, viewer);
      expect(body.errors).toBeUndefined();
      expect(body.data!._entities).toEqual([{ id: orderId, payment: null }]);
    }
    const unpaid = randomUUID();
    const { body } = await query(paymentQuery, { reps: [orderRep(unpaid), orderRep('nope')] }, admin);
    expect(body.data!._entities).toEqual([{ id: unpaid, payment: null }, { id: 'nope', payment: null }]);
  });

  it('shows a declined payment with its reason', async () => {
    const owner = customer();
    const orderId = randomUUID();
    await authorize(db, { sagaId: `saga-${orderId}`, orderId, customerId: owner.id, amountCents: 7_001, currency: 'EUR' }, defaults);
    const { body } = await query(paymentQuery, { reps: [orderRep(orderId)] }, owner);
    expect(body.data!._entities[0].payment).toMatchObject({ status: 'DECLINED', declineReason: 'INSUFFICIENT_CREDIT', authorizedAt: null });
  });

  it('loads the payments of 20 orders in one query', async () => {
    const owner = customer();
    const orders: string[] = [];
    for (let i = 0; i < 20; i++) orders.push(await paidOrder(owner.id, 10 + i, i % 2 === 0));
    sql.length = 0;
    const { body } = await query(paymentQuery, { reps: orders.map(orderRep) }, owner);
    expect(body.errors).toBeUndefined();
    expect(sql).toHaveLength(1);
    const payments = body.data!._entities.map((o: { payment: { amountCents: number; status: string } }) => o.payment);
    expect(payments).toEqual(orders.map((_, i) => expect.objectContaining({ amountCents: 10 + i, status: i % 2 === 0 ? 'CAPTURED' : 'AUTHORIZED' })));
  });
});

describe('setCreditLimit', () => {
  const mutation = `mutation($customerId: ID!, $limit: Int!) { setCreditLimit(customerId: $customerId, creditLimitCents: $limit) {
    creditLimitCents heldCents spentCents availableCents currency } }`;

  it('is for admins only', async () => {
    const target = randomUUID();
    const anonymous = await query(mutation, { customerId: target, limit: 1 });
    expect(anonymous.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    const self = customer();
    const own = await query(mutation, { customerId: self.id, limit: 1_000_000 }, self);
    expect(own.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(await db.paymentAccount.count({ where: { customerId: { in: [target, self.id] } } })).toBe(0);
  });

  it('opens or updates an account', async () => {
    const target = randomUUID();
    const opened = await query(mutation, { customerId: target.toUpperCase(), limit: 12_345 }, admin);
    expect(opened.body.errors).toBeUndefined();
    expect(opened.body.data!.setCreditLimit).toEqual({ creditLimitCents: 12_345, heldCents: 0, spentCents: 0, availableCents: 12_345, currency: 'EUR' });
    await paidOrder(target, 2_000, true);
    await paidOrder(target, 345);
    const lowered = await query(mutation, { customerId: target, limit: 2_345 }, admin);
    expect(lowered.body.data!.setCreditLimit).toEqual({ creditLimitCents: 2_345, heldCents: 345, spentCents: 2_000, availableCents: 0, currency: 'EUR' });
  });

  it('validates its input', async () => {
    const target = randomUUID();
    await paidOrder(target, 3_000);
    const cases: Array<[Record<string, unknown>, string, string]> = [
      [{ customerId: 'alice', limit: 1 }, 'customerId', 'not a valid id'],
      [{ customerId: target, limit: -1 }, 'creditLimitCents', 'cannot be negative'],
      [{ customerId: target, limit: 1_000_000_001 }, 'creditLimitCents', 'at most'],
      [{ customerId: target, limit: 2_999 }, 'creditLimitCents', '3000 cents already held and spent'],
    ];
    for (const [variables, field, message] of cases) {
      const { body } = await query(mutation, variables, admin);
      expect(body.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field });
      expect(body.errors?.[0]?.message).toContain(message);
    }
    expect(await db.paymentAccount.findUniqueOrThrow({ where: { customerId: target } })).toMatchObject({ creditLimitCents: 7_000, heldCents: 3_000 });
  });
});

describe('seed', () => {
  it('opens the customers\' accounts and records their past orders as captured, once', async () => {
    const customers = Object.keys(seedCreditLimits);
    const snapshot = async () => ({
      accounts: await db.paymentAccount.findMany({ where: { customerId: { in: customers } }, orderBy: { customerId: 'asc' } }),
      payments: await db.payment.findMany({ where: { orderId: { in: seedOrders.map((o) => o.id) } }, orderBy: { orderId: 'asc' } }),
    });
    expect(await seed(db)).toEqual({ accounts: 3, payments: 6 });
    const first = await snapshot();
    await seed(db);
    expect(await snapshot()).toEqual(first);

    expect(first.payments).toHaveLength(seedOrders.length);
    for (const order of seedOrders) {
      const total = order.lines.reduce((sum, l) => sum + l.quantity * l.unitPriceCents, 0);
      expect(first.payments.find((p) => p.orderId === order.id)).toMatchObject({ customerId: order.userId, amountCents: total, status: 'CAPTURED', capturedAt: order.placedAt });
    }
    const available = Object.fromEntries(first.accounts.map((a) => [seedUsers.find((u) => u.id === a.customerId)!.email, a.creditLimitCents - a.heldCents - a.spentCents]));
    expect(available).toEqual({ 'alice@mercado.dev': 500_000, 'bob@mercado.dev': 3_000, 'carol@mercado.dev': 200_000 });
    for (const account of first.accounts) {
      const spent = first.payments.filter((p) => p.customerId === account.customerId).reduce((sum, p) => sum + p.amountCents, 0);
      expect(account).toMatchObject({ creditLimitCents: seedCreditLimits[account.customerId], heldCents: 0, spentCents: spent });
    }
  });

  it('adds only what is missing and keeps what changed', async () => {
    await seed(db);
    const bob = seedUsers.find((u) => u.email === 'bob@mercado.dev')!.id;
    const [lost, ...kept] = seedOrders.filter((o) => o.userId === bob);
    // As if an earlier run had stopped before this payment; an admin also raised the limit.
    const payment = await db.payment.delete({ where: { orderId: lost!.id } });
    await db.paymentAccount.update({ where: { customerId: bob }, data: { spentCents: { decrement: payment.amountCents }, creditLimitCents: { increment: 1 } } });

    await seed(db);
    const account = await db.paymentAccount.findUniqueOrThrow({ where: { customerId: bob } });
    expect(account.creditLimitCents).toBe(seedCreditLimits[bob]! + 1);
    expect(await db.payment.count({ where: { customerId: bob } })).toBe(1 + kept.length);
    expect(account.spentCents).toBe(seedCreditLimits[bob]! - 3_000);
  });
});
