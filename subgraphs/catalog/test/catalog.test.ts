import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger, type RunningService } from '@mercado/service-kit';
import { createTestDatabase, gatewayHeaders, postGraphQL, testInternalSecret, type TestDatabase } from '@mercado/service-kit/testing';
import { createDb, type Db } from '../src/db.ts';
import { startCatalog } from '../src/service.ts';

const migrations = new URL('../../../prisma/catalog/migrations', import.meta.url).pathname;
const admin = { id: '00000000-0000-4000-8000-000000000001', role: 'admin' as const };
const customer = { id: '00000000-0000-4000-8000-000000000002', role: 'customer' as const };

let database: TestDatabase;
let db: Db;
let service: RunningService;
const sql: string[] = [];

function product(i: number, category = 'books') {
  return { sku: `T-${String(i).padStart(3, '0')}`, name: `Product ${i}`, description: '', priceCents: 100 * i, currency: 'EUR', category };
}

beforeAll(async () => {
  database = await createTestDatabase('catalog', migrations);
  db = createDb(database.url, (q) => sql.push(q));
  await db.product.createMany({ data: Array.from({ length: 60 }, (_, i) => product(i + 1, i % 3 ? 'books' : 'coffee')) });
  service = await startCatalog(db, { port: 0, internalTokenSecret: testInternalSecret, logger: createLogger('catalog', 'silent') });
});

afterAll(async () => {
  await service?.close();
  await db?.$disconnect();
  await database?.drop();
});

const query = async (q: string, variables = {}, viewer: { id: string; role: "admin" | "customer" } | null = null) =>
  postGraphQL(service.url, q, variables, await gatewayHeaders(viewer));

describe('catalog subgraph', () => {
  it('pages through products with a cursor and a total count', async () => {
    const q = `query($after: String) { products(first: 25, after: $after, category: "books") {
      totalCount pageInfo { hasNextPage endCursor } edges { node { sku category } } } }`;
    const seen: string[] = [];
    let after: string | null = null;
    for (let page = 0; page < 3; page++) {
      const { body } = await query(q, { after });
      const conn = body.data!.products;
      expect(conn.totalCount).toBe(40);
      seen.push(...conn.edges.map((e: { node: { sku: string } }) => e.node.sku));
      after = conn.pageInfo.endCursor;
      expect(conn.pageInfo.hasNextPage).toBe(page < 1);
    }
    expect(seen).toHaveLength(40);
    expect(new Set(seen).size).toBe(40);
    expect([...seen].sort()).toEqual(seen);
  });

  it('resolves 50 entity references with one SQL query', async () => {
    const ids = (await db.product.findMany({ take: 50, select: { id: true } })).map((p) => p.id);
    sql.length = 0;
    const { body } = await query(
      `query($reps: [_Any!]!) { _entities(representations: $reps) { ... on Product { id name priceCents } } }`,
      { reps: ids.map((id) => ({ __typename: 'Product', id })) },
    );
    expect(body.errors).toBeUndefined();
    expect(body.data!._entities).toHaveLength(50);
    expect(body.data!._entities.map((p: { id: string }) => p.id)).toEqual(ids);
    expect(sql.filter((s) => /select/i.test(s))).toHaveLength(1);
  });

  it('answers unknown and malformed ids with stable codes', async () => {
    const unknown = await query(`{ product(id: "00000000-0000-4000-8000-00000000ffff") { id } }`);
    expect(unknown.body.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    const malformed = await query(`{ product(id: "42; drop table") { id } }`);
    expect(malformed.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(malformed.body.errors?.[0]?.message).toMatch(/not a valid id/);
  });

  it('rejects bad page sizes and cursors', async () => {
    const big = await query(`{ products(first: 1000) { totalCount } }`);
    expect(big.body.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'first' });
    const cursor = await query(`{ products(after: "bm9wZQ") { totalCount } }`);
    expect(cursor.body.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'after' });
  });

  it('lets only admins create products and change prices', async () => {
    const create = `mutation($input: CreateProductInput!) { createProduct(input: $input) { id sku priceCents } }`;
    const input = product(900);
    const anonymous = await query(create, { input });
    expect(anonymous.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    const asCustomer = await query(create, { input }, customer);
    expect(asCustomer.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const asAdmin = await query(create, { input }, admin);
    expect(asAdmin.body.data!.createProduct).toMatchObject({ sku: 'T-900', priceCents: 90000 });

    const duplicate = await query(create, { input }, admin);
    expect(duplicate.body.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'sku' });
    const negative = await query(create, { input: { ...product(901), priceCents: -1 } }, admin);
    expect(negative.body.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'priceCents' });

    const id = asAdmin.body.data!.createProduct.id;
    const price = await query(`mutation($id: ID!) { updateProductPrice(id: $id, priceCents: 1234) { priceCents } }`, { id }, admin);
    expect(price.body.data!.updateProductPrice.priceCents).toBe(1234);
  });

  it('creates a product once per idempotency key, and leaves a price that is already set as it is', async () => {
    const create = `mutation($input: CreateProductInput!, $key: String) { createProduct(input: $input, idempotencyKey: $key) { id sku } }`;
    const key = 'create-product-910';
    const first = await query(create, { input: product(910), key }, admin);
    const again = await query(create, { input: product(910), key }, admin);
    expect(again.body).toEqual(first.body);
    expect(first.body.data!.createProduct.sku).toBe('T-910');
    expect((await query(create, { input: product(911), key }, admin)).body.errors?.[0]?.extensions).toEqual({ code: 'CONFLICT' });

    const id = first.body.data!.createProduct.id;
    const setPrice = `mutation($id: ID!, $cents: Int!) { updateProductPrice(id: $id, priceCents: $cents) { priceCents } }`;
    await query(setPrice, { id, cents: 4242 }, admin);
    const version = (await db.product.findUniqueOrThrow({ where: { id } })).version;
    const outbox = await db.outboxEvent.count();
    expect((await query(setPrice, { id, cents: 4242 }, admin)).body.data!.updateProductPrice.priceCents).toBe(4242);
    expect((await db.product.findUniqueOrThrow({ where: { id } })).version).toBe(version);
    expect(await db.outboxEvent.count()).toBe(outbox);
  });

  it('refuses requests that do not carry the gateway signature', async () => {
    const unsigned = await postGraphQL(service.url, '{ categories }');
    expect(unsigned.status).toBe(401);
    expect(unsigned.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    const forged = await postGraphQL(service.url, '{ categories }', {}, { 'x-mercado-context': 'eyJhbGciOiJub25lIn0.e30.' });
    expect(forged.status).toBe(401);
  });
});
