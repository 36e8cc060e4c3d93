import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedProducts } from '@mercado/dev-seed';
import { createLogger, type RunningService } from '@mercado/service-kit';
import { createTestDatabase, gatewayHeaders, postGraphQL, testInternalSecret, type TestDatabase } from '@mercado/service-kit/testing';
import { createDb, type Db } from '../src/db.ts';
import { seed } from '../src/seed.ts';
import { startInventory } from '../src/service.ts';

const migrations = new URL('../../../prisma/inventory/migrations', import.meta.url).pathname;
const admin = { id: '00000000-0000-4000-8000-000000000001', role: 'admin' as const };
const customer = { id: '00000000-0000-4000-8000-000000000002', role: 'customer' as const };

let database: TestDatabase;
let db: Db;
let service: RunningService;
const sql: string[] = [];

/** A product the catalog has announced: in the replica its events keep. */
async function knownProduct(id: string = randomUUID()): Promise<string> {
  await db.productReplica.upsert({ where: { id }, create: { id, version: 1, updatedAt: new Date() }, update: {} });
  return id;
}

/** A stock row for a fresh, known product id; levels derived from `i` so each row differs. */
async function stocked(i: number) {
  const row = { productId: await knownProduct(), available: i, reserved: i % 3 };
  await db.stockItem.create({ data: row });
  return row;
}

beforeAll(async () => {
  database = await createTestDatabase('inventory', migrations);
  db = createDb(database.url, (q) => sql.push(q));
  service = await startInventory(db, { port: 0, internalTokenSecret: testInternalSecret, logger: createLogger('inventory', 'silent') });
});

afterAll(async () => {
  await service?.close();
  await db?.$disconnect();
  await database?.drop();
});

type Who = { id: string; role: 'admin' | 'customer' } | null;
const query = async (q: string, variables = {}, viewer: Who = null) => postGraphQL(service.url, q, variables, await gatewayHeaders(viewer));

const stockOf = `query($reps: [_Any!]!) { _entities(representations: $reps) { ... on Product { id stock { available reserved } } } }`;
const restock = `mutation($productId: ID!, $quantity: Int!) { restock(productId: $productId, quantity: $quantity) { available reserved } }`;
const reps = (ids: string[]) => ({ reps: ids.map((id) => ({ __typename: 'Product', id })) });

describe('Product.stock', () => {
  it('resolves the stock of 50 product references with one SQL query', async () => {
    const rows = await Promise.all(Array.from({ length: 50 }, (_, i) => stocked(i + 1)));
    sql.length = 0;
    const { body } = await query(stockOf, reps(rows.map((r) => r.productId)));
    expect(body.errors).toBeUndefined();
    expect(body.data!._entities).toEqual(rows.map((r) => ({ id: r.productId, stock: { available: r.available, reserved: r.reserved } })));
    expect(sql.filter((s) => /select/i.test(s))).toHaveLength(1);
    expect(sql).toHaveLength(1);
  });

  it('gives zero stock to a product it has never stocked and to a malformed id', async () => {
    const known = await stocked(7);
    const unknown = randomUUID();
    const { body } = await query(stockOf, reps([unknown, known.productId, 'not-a-uuid; drop table']));
    expect(body.errors).toBeUndefined();
    expect(body.data!._entities).toEqual([
      { id: unknown, stock: { available: 0, reserved: 0 } },
      { id: known.productId, stock: { available: 7, reserved: 1 } },
      { id: 'not-a-uuid; drop table', stock: { available: 0, reserved: 0 } },
    ]);
  });

  it('matches ids case-insensitively', async () => {
    const row = await stocked(11);
    const { body } = await query(stockOf, reps([row.productId.toUpperCase()]));
    expect(body.data!._entities[0].stock).toEqual({ available: 11, reserved: 2 });
  });
});

describe('restock', () => {
  it('is for admins only', async () => {
    const productId = await knownProduct();
    const anonymous = await query(restock, { productId, quantity: 5 });
    expect(anonymous.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    const asCustomer = await query(restock, { productId, quantity: 5 }, customer);
    expect(asCustomer.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(await db.stockItem.findUnique({ where: { productId } })).toBeNull();

    const asAdmin = await query(restock, { productId, quantity: 5 }, admin);
    expect(asAdmin.body.errors).toBeUndefined();
    expect(asAdmin.body.data!.restock).toEqual({ available: 5, reserved: 0 });
  });

  it('adds to the stock already there and keeps reservations', async () => {
    const row = await stocked(10);
    const { body } = await query(restock, { productId: row.productId, quantity: 15 }, admin);
    expect(body.data!.restock).toEqual({ available: 25, reserved: 1 });
    const after = await query(stockOf, reps([row.productId]));
    expect(after.body.data!._entities[0].stock).toEqual({ available: 25, reserved: 1 });
  });

  it.each([0, -1, 100_001])('rejects quantity %i', async (quantity) => {
    const row = await stocked(3);
    const { body } = await query(restock, { productId: row.productId, quantity }, admin);
    expect(body.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'quantity' });
    expect((await db.stockItem.findUniqueOrThrow({ where: { productId: row.productId } })).available).toBe(3);
  });

  it('accepts the largest quantity', async () => {
    const { body } = await query(restock, { productId: await knownProduct(), quantity: 100_000 }, admin);
    expect(body.data!.restock).toEqual({ available: 100_000, reserved: 0 });
  });

  it.each(['', '42', 'not-a-uuid', "00000000-0000-4000-8000-00000000000'; --"])('rejects product id %j', async (productId) => {
    const { body } = await query(restock, { productId, quantity: 1 }, admin);
    expect(body.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'productId' });
  });

  it('refuses a product the catalog never announced, creating nothing', async () => {
    const productId = randomUUID();
    const { body } = await query(restock, { productId, quantity: 5 }, admin);
    expect(body.errors?.[0]).toMatchObject({ message: `Product ${productId} was not found`, extensions: { code: 'NOT_FOUND' } });
    expect(await db.stockItem.findUnique({ where: { productId } })).toBeNull();
  });

  it('loses no update when 20 restocks of 1 run at once', async () => {
    // A product with no row yet, so the concurrent requests also race to create it.
    const productId = await knownProduct();
    const results = await Promise.all(Array.from({ length: 20 }, () => query(restock, { productId, quantity: 1 }, admin)));
    expect(results.flatMap((r) => r.body.errors ?? [])).toEqual([]);
    const seen = results.map((r) => r.body.data!.restock.available as number).sort((a, b) => a - b);
    expect(seen).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect((await db.stockItem.findUniqueOrThrow({ where: { productId } })).available).toBe(20);
  });
});

describe('restock with an idempotency key', () => {
  const keyed = `mutation($productId: ID!, $quantity: Int!, $key: String) { restock(productId: $productId, quantity: $quantity, idempotencyKey: $key) { available reserved } }`;
  const secondAdmin = { id: '00000000-0000-4000-8000-000000000003', role: 'admin' as const };

  it('adds once however often the same request is sent, at once or again later, and answers the same each time', async () => {
    const productId = await knownProduct();
    const key = `restock-${randomUUID()}`;
    const results = await Promise.all(Array.from({ length: 8 }, () => query(keyed, { productId, quantity: 7, key }, admin)));
    expect(results.map((r) => r.body)).toEqual(Array.from({ length: 8 }, () => ({ data: { restock: { available: 7, reserved: 0 } } })));
    expect((await query(keyed, { productId, quantity: 7, key }, admin)).body.data!.restock).toEqual({ available: 7, reserved: 0 });
    expect((await db.stockItem.findUniqueOrThrow({ where: { productId } })).available).toBe(7);
    // Another admin's same key is another request: keys are per admin.
    expect((await query(keyed, { productId, quantity: 7, key }, secondAdmin)).body.data!.restock.available).toBe(14);
  });

  it('refuses the same key for another request (CONFLICT) and a malformed key (BAD_USER_INPUT), adding nothing', async () => {
    const productId = await knownProduct();
    const key = `restock-${randomUUID()}`;
    await query(keyed, { productId, quantity: 2, key }, admin);
    const other = await query(keyed, { productId, quantity: 3, key }, admin);
    expect(other.body.errors?.[0]?.extensions).toEqual({ code: 'CONFLICT' });
    const malformed = await query(keyed, { productId, quantity: 3, key: 'no spaces allowed' }, admin);
    expect(malformed.body.errors?.[0]?.extensions).toEqual({ code: 'BAD_USER_INPUT', field: 'idempotencyKey' });
    expect((await db.stockItem.findUniqueOrThrow({ where: { productId } })).available).toBe(2);
  });

  it('records nothing for a request that failed, so its retry acts', async () => {
    const productId = randomUUID(); // not announced yet: NOT_FOUND
    const key = `restock-${randomUUID()}`;
    expect((await query(keyed, { productId, quantity: 4, key }, admin)).body.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    await knownProduct(productId);
    expect((await query(keyed, { productId, quantity: 4, key }, admin)).body.data!.restock.available).toBe(4);
  });
});

describe('stock levels', () => {
  it('can never be negative, whatever writes them', async () => {
    const row = await stocked(2);
    await expect(db.stockItem.update({ where: { productId: row.productId }, data: { available: -1 } })).rejects.toThrow();
    await expect(db.stockItem.update({ where: { productId: row.productId }, data: { reserved: { decrement: 5 } } })).rejects.toThrow();
    expect(await db.stockItem.findUniqueOrThrow({ where: { productId: row.productId } })).toMatchObject({ available: 2, reserved: 2 });
  });
});

describe('seed', () => {
  it('stocks every seed product once and keeps stock that changed since', async () => {
    const ids = seedProducts.map((p) => p.id);
    const levels = async () =>
      new Map((await db.stockItem.findMany({ where: { productId: { in: ids } } })).map((r) => [r.productId, [r.available, r.reserved]]));

    expect(await seed(db)).toBe(seedProducts.length);
    const first = await levels();
    expect(first.size).toBe(seedProducts.length);
    expect(first).toEqual(new Map(seedProducts.map((p) => [p.id, [p.stock, 0]])));

    const changed = seedProducts[0]!;
    await knownProduct(changed.id);
    expect((await query(restock, { productId: changed.id, quantity: 100 }, admin)).body.errors).toBeUndefined();
    await db.stockItem.update({ where: { productId: seedProducts[1]!.id }, data: { available: 0, reserved: 1 } });

    expect(await seed(db)).toBe(seedProducts.length);
    const second = await levels();
    expect(second.size).toBe(seedProducts.length);
    expect(second.get(changed.id)).toEqual([changed.stock + 100, 0]);
    expect(second.get(seedProducts[1]!.id)).toEqual([0, 1]);
    for (const p of seedProducts.slice(2)) expect(second.get(p.id)).toEqual([p.stock, 0]);
  });
});
