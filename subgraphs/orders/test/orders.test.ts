import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedOrders } from '@mercado/dev-seed';
import { createLogger, type RunningService, type Viewer } from '@mercado/service-kit';
import { createTestDatabase, gatewayHeaders, postGraphQL, testInternalSecret, type TestDatabase } from '@mercado/service-kit/testing';
import { createDb, type Db } from '../src/db.ts';
import { seed } from '../src/seed.ts';
import { startOrders } from '../src/service.ts';

const migrations = new URL('../../../prisma/orders/migrations', import.meta.url).pathname;
const admin: Viewer = { id: '00000000-0000-4000-8000-000000000001', role: 'admin' };
const alice: Viewer = { id: '00000000-0000-4000-8000-00000000000a', role: 'customer' };
const bob: Viewer = { id: '00000000-0000-4000-8000-00000000000b', role: 'customer' };

let database: TestDatabase;
let db: Db;
let service: RunningService;
const sql: string[] = [];

interface LineSpec { quantity: number; unitPriceCents: number; productName?: string }

/** Inserts one order for `userId`, placed `day` days into 2026, with the given lines. */
async function placeOrder(userId: string, day: number, lines: LineSpec[] = [{ quantity: 1, unitPriceCents: 100 }]) {
  return db.order.create({
    data: {
      userId,
      status: 'CONFIRMED',
      currency: 'EUR',
      placedAt: new Date(Date.UTC(2026, 0, day)),
      totalCents: lines.reduce((s, l) => s + l.quantity * l.unitPriceCents, 0),
      lines: {
        create: lines.map((l, i) => ({ productId: randomUUID(), productName: l.productName ?? `Product ${i}`, quantity: l.quantity, unitPriceCents: l.unitPriceCents, position: i + 1 })),
      },
    },
    include: { lines: true },
  });
}

beforeAll(async () => {
  database = await createTestDatabase('orders', migrations);
  db = createDb(database.url, (q) => sql.push(q));
  service = await startOrders(db, { port: 0, internalTokenSecret: testInternalSecret, logger: createLogger('orders', 'silent') });
});

afterAll(async () => {
  await service?.close();
  await db?.$disconnect();
  await database?.drop();
});

const query = async (q: string, variables = {}, viewer: Viewer | null = null) =>
  postGraphQL(service.url, q, variables, await gatewayHeaders(viewer));

const userOrders = `query($reps: [_Any!]!, $first: Int) { _entities(representations: $reps) {
  ... on User { id orders(first: $first) { id placedAt } } } }`;
const userRep = (id: string) => ({ __typename: 'User', id });

describe('order(id)', () => {
  it('gives the owner the order with its lines and totals', async () => {
    const placed = await placeOrder(alice.id, 3, [
      { quantity: 2, unitPriceCents: 1250, productName: 'Kenya AA' },
      { quantity: 1, unitPriceCents: 4999, productName: 'Burr Grinder' },
    ]);
    const { body } = await query(
      `query($id: ID!) { order(id: $id) { id status totalCents currency placedAt customer { id }
        lines { product { id } productName quantity unitPriceCents lineTotalCents } } }`,
      { id: placed.id },
      alice,
    );
    expect(body.errors).toBeUndefined();
    const order = body.data!.order;
    expect(order).toMatchObject({
      id: placed.id,
      status: 'CONFIRMED',
      totalCents: 7499,
      currency: 'EUR',
      placedAt: '2026-01-03T00:00:00.000Z',
      customer: { id: alice.id },
    });
    // Lines come back in the order they were entered.
    const productOf = (name: string) => placed.lines.find((l) => l.productName === name)!.productId;
    expect(order.lines).toEqual([
      { product: { id: productOf('Kenya AA') }, productName: 'Kenya AA', quantity: 2, unitPriceCents: 1250, lineTotalCents: 2500 },
      { product: { id: productOf('Burr Grinder') }, productName: 'Burr Grinder', quantity: 1, unitPriceCents: 4999, lineTotalCents: 4999 },
    ]);
  });

  it('hides the order from everyone but its owner and admins, as if it did not exist', async () => {
    const placed = await placeOrder(alice.id, 4);
    const q = `query($id: ID!) { order(id: $id) { id customer { id } } }`;
    for (const viewer of [bob, null]) {
      const { body } = await query(q, { id: placed.id }, viewer);
      expect(body.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
      expect(body.data?.order ?? null).toBeNull();
    }
    // "Not yours" and "not there" read the same, so the answer reveals nothing.
    const unknownId = randomUUID();
    const unknown = await query(q, { id: unknownId }, bob);
    expect(unknown.body.errors?.[0]).toMatchObject({ message: `Order ${unknownId} was not found`, extensions: { code: 'NOT_FOUND' } });
    const notYours = await query(q, { id: placed.id }, bob);
    expect(notYours.body.errors?.[0]?.message).toBe(`Order ${placed.id} was not found`);

    const asAdmin = await query(q, { id: placed.id }, admin);
    expect(asAdmin.body.data!.order).toEqual({ id: placed.id, customer: { id: alice.id } });
    const upperCase = await query(q, { id: placed.id.toUpperCase() }, alice);
    expect(upperCase.body.data!.order.id).toBe(placed.id);
  });

  it('rejects a malformed id as bad input', async () => {
    const { body } = await query(`{ order(id: "42; drop table") { id } }`, {}, alice);
    expect(body.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'id' });
  });
});

describe('User.orders', () => {
  it('lists the user\'s own orders newest first, `first` at a time', async () => {
    const carol = randomUUID();
    const placed = [await placeOrder(carol, 10), await placeOrder(carol, 30), await placeOrder(carol, 20)];
    const { body } = await query(userOrders, { reps: [userRep(carol)] }, { id: carol, role: 'customer' });
    expect(body.errors).toBeUndefined();
    expect(body.data!._entities[0].orders.map((o: { id: string }) => o.id)).toEqual([placed[1]!.id, placed[2]!.id, placed[0]!.id]);

    const two = await query(userOrders, { reps: [userRep(carol)], first: 2 }, { id: carol, role: 'customer' });
    expect(two.body.data!._entities[0].orders.map((o: { placedAt: string }) => o.placedAt)).toEqual(['2026-01-30T00:00:00.000Z', '2026-01-20T00:00:00.000Z']);
  });

  it('needs a signed-in viewer who is that user or an admin', async () => {
    const dave = randomUUID();
    await placeOrder(dave, 5);
    const anonymous = await query(userOrders, { reps: [userRep(dave)] });
    expect(anonymous.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    const other = await query(userOrders, { reps: [userRep(dave)] }, bob);
    expect(other.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(other.body.data?._entities?.[0] ?? null).toBeNull();
    const asAdmin = await query(userOrders, { reps: [userRep(dave)] }, admin);
    expect(asAdmin.body.errors).toBeUndefined();
    expect(asAdmin.body.data!._entities[0].orders).toHaveLength(1);
  });

  it('accepts `first` from 1 to 100 only', async () => {
    const erin: Viewer = { id: randomUUID(), role: 'customer' };
    await placeOrder(erin.id, 1);
    await placeOrder(erin.id, 2);
    for (const first of [0, -1, 101]) {
      const { body } = await query(userOrders, { reps: [userRep(erin.id)], first }, erin);
      expect(body.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'first' });
    }
    for (const [first, expected] of [[1, 1], [100, 2]] as const) {
      const { body } = await query(userOrders, { reps: [userRep(erin.id)], first }, erin);
      expect(body.errors).toBeUndefined();
      expect(body.data!._entities[0].orders).toHaveLength(expected);
    }
  });

  it('resolves the orders and lines of 20 users in at most 2 SQL queries', async () => {
    const users = Array.from({ length: 20 }, () => randomUUID());
    for (const [i, user] of users.entries()) {
      for (let n = 0; n < 1 + (i % 3); n++) await placeOrder(user, 1 + n, [{ quantity: i + 1, unitPriceCents: 10 }, { quantity: 1, unitPriceCents: 5 }]);
    }
    sql.length = 0;
    const { body } = await query(
      `query($reps: [_Any!]!) { _entities(representations: $reps) { ... on User { id orders(first: 2) { lines { quantity } } } } }`,
      { reps: users.map(userRep) },
      admin,
    );
    expect(body.errors).toBeUndefined();
    expect(sql.length).toBeGreaterThan(0);
    expect(sql.length).toBeLessThanOrEqual(2);
    const result = body.data!._entities as Array<{ id: string; orders: Array<{ lines: Array<{ quantity: number }> }> }>;
    expect(result.map((u) => u.id)).toEqual(users);
    result.forEach((u, i) => {
      expect(u.orders).toHaveLength(Math.min(2, 1 + (i % 3)));
      for (const order of u.orders) expect(order.lines.map((l) => l.quantity).sort((a, b) => a - b)).toEqual([1, i + 1].sort((a, b) => a - b));
    });
  });
});

describe('Order entity references', () => {
  it('resolves N references in one query and returns null for orders the viewer may not see', async () => {
    const mine = await Promise.all(Array.from({ length: 5 }, (_, i) => placeOrder(bob.id, 10 + i)));
    const theirs = await Promise.all(Array.from({ length: 5 }, (_, i) => placeOrder(alice.id, 10 + i)));
    const reps = [...mine, ...theirs].map((o) => ({ __typename: 'Order', id: o.id }));
    const q = `query($reps: [_Any!]!) { _entities(representations: $reps) { ... on Order { id totalCents } } }`;

    sql.length = 0;
    const asBob = await query(q, { reps }, bob);
    expect(asBob.body.errors).toBeUndefined();
    expect(sql).toHaveLength(1);
    expect(asBob.body.data!._entities).toEqual([...mine.map((o) => ({ id: o.id, totalCents: 100 })), ...theirs.map(() => null)]);

    const asAdmin = await query(q, { reps }, admin);
    expect(asAdmin.body.data!._entities.map((o: { id: string } | null) => o?.id)).toEqual(reps.map((r) => r.id));
    const anonymous = await query(q, { reps }, null);
    expect(anonymous.body.data!._entities).toEqual(reps.map(() => null));
    const malformed = await query(q, { reps: [{ __typename: 'Order', id: 'nope' }] }, admin);
    expect(malformed.body.data!._entities).toEqual([null]);
  });
});

describe('seed', () => {
  it('is idempotent and stores totals as the sum of the lines', async () => {
    const ids = seedOrders.map((o) => o.id);
    const counts = async () => [
      await db.order.count({ where: { id: { in: ids } } }),
      await db.orderLine.count({ where: { orderId: { in: ids } } }),
    ];
    await seed(db);
    const first = await counts();
    await seed(db);
    expect(await counts()).toEqual(first);
    expect(first).toEqual([seedOrders.length, seedOrders.reduce((n, o) => n + o.lines.length, 0)]);

    const stored = await db.order.findMany({ where: { id: { in: ids } }, include: { lines: true } });
    for (const order of stored) {
      expect(order.totalCents).toBe(order.lines.reduce((s, l) => s + l.quantity * l.unitPriceCents, 0));
      expect(order.placedAt).toEqual(seedOrders.find((o) => o.id === order.id)!.placedAt);
    }
  });
});
