import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedReviews } from '@mercado/dev-seed';
import { createLogger, type RunningService } from '@mercado/service-kit';
import { createTestDatabase, gatewayHeaders, postGraphQL, testInternalSecret, type TestDatabase } from '@mercado/service-kit/testing';
import { createDb, type Db } from '../src/db.ts';
import { reviewsService } from '../src/index.ts';
import { startReviews } from '../src/service.ts';

const migrations = new URL('../../../prisma/reviews/migrations', import.meta.url).pathname;
type Viewer = { id: string; role: 'admin' | 'customer' };
const customer = (): Viewer => ({ id: randomUUID(), role: 'customer' });

let database: TestDatabase;
let db: Db;
let service: RunningService;
const sql: string[] = [];

/** Product i gets i % 6 reviews, one per author, a minute apart: the last author's is newest. */
const products = Array.from({ length: 50 }, () => randomUUID());
const authors = Array.from({ length: 5 }, () => randomUUID());
const base = Date.UTC(2026, 0, 1);
function review(productIndex: number, authorIndex: number) {
  return {
    id: randomUUID(),
    productId: products[productIndex]!,
    authorId: authors[authorIndex]!,
    rating: 1 + ((productIndex + authorIndex) % 5),
    body: `Review of ${productIndex} by ${authorIndex}`,
    createdAt: new Date(base + (productIndex * 10 + authorIndex) * 60_000),
  };
}
const reviews = products.flatMap((_, p) => Array.from({ length: p % 6 }, (_, a) => review(p, a)));
const newestFirst = (rows: typeof reviews) => [...rows].sort((x, y) => y.createdAt.getTime() - x.createdAt.getTime());
const mean = (rows: typeof reviews) => (rows.length ? rows.reduce((s, r) => s + r.rating, 0) / rows.length : null);

beforeAll(async () => {
  database = await createTestDatabase('reviews', migrations);
  db = createDb(database.url, (q) => sql.push(q));
  await db.review.createMany({ data: reviews });
  service = await startReviews(db, { port: 0, internalTokenSecret: testInternalSecret, logger: createLogger('reviews', 'silent') });
});

afterAll(async () => {
  await service?.close();
  await db?.$disconnect();
  await database?.drop();
});

const query = async (q: string, variables = {}, viewer: Viewer | null = null) =>
  postGraphQL(service.url, q, variables, await gatewayHeaders(viewer));

const productEntities = `query($reps: [_Any!]!, $first: Int) { _entities(representations: $reps) {
  ... on Product { id averageRating reviews(first: $first) { id rating body createdAt author { id } product { id } } } } }`;
const userEntities = `query($reps: [_Any!]!, $first: Int) { _entities(representations: $reps) {
  ... on User { id reviews(first: $first) { id product { id } } } } }`;
const add = `mutation($input: AddReviewInput!) { addReview(input: $input) { id rating body createdAt author { id } product { id } } }`;

/** A product the catalog has announced: in the replica its events keep (as recordProducts writes it). */
async function knownProduct(): Promise<string> {
  const id = randomUUID();
  await db.productReplica.create({ data: { id, version: 1, updatedAt: new Date() } });
  return id;
}

describe('reviews subgraph', () => {
  it('answers reviews and averageRating for 50 products with one SQL query per field', async () => {
    sql.length = 0;
    const { body } = await query(productEntities, { reps: products.map((id) => ({ __typename: 'Product', id })), first: 3 });
    expect(body.errors).toBeUndefined();
    expect(sql).toHaveLength(2);
    // The cut-off to `first` happens in the database, as a bound parameter.
    expect(sql.filter((s) => /row_number\(\) over[\s\S]*rn <= \$\d+/i.test(s))).toHaveLength(1);
    expect(sql.filter((s) => /avg/i.test(s))).toHaveLength(1);

    const entities = body.data!._entities;
    expect(entities).toHaveLength(50);
    products.forEach((id, p) => {
      const own = reviews.filter((r) => r.productId === id);
      const expected = newestFirst(own).slice(0, 3);
      expect(entities[p].id).toBe(id);
      expect(entities[p].reviews.map((r: { id: string }) => r.id)).toEqual(expected.map((r) => r.id));
      expect(entities[p].averageRating).toBe(mean(own));
    });
    const sample = entities[5].reviews[0];
    const row = newestFirst(reviews.filter((r) => r.productId === products[5]))[0]!;
    expect(sample).toEqual({
      id: row.id,
      rating: row.rating,
      body: row.body,
      createdAt: row.createdAt.toISOString(),
      author: { id: row.authorId },
      product: { id: row.productId },
    });
  });

  it('batches User.reviews by author and respects first per user', async () => {
    sql.length = 0;
    const { body } = await query(userEntities, { reps: authors.map((id) => ({ __typename: 'User', id })), first: 7 });
    expect(body.errors).toBeUndefined();
    expect(sql).toHaveLength(1);
    authors.forEach((id, a) => {
      const expected = newestFirst(reviews.filter((r) => r.authorId === id)).slice(0, 7);
      expect(body.data!._entities[a].reviews.map((r: { id: string }) => r.id)).toEqual(expected.map((r) => r.id));
    });
  });

  it('serves different page sizes for the same parent in one request', async () => {
    const { body } = await query(
      `query($reps: [_Any!]!) { _entities(representations: $reps) { ... on Product { one: reviews(first: 1) { id } all: reviews(first: 50) { id } } } }`,
      { reps: [{ __typename: 'Product', id: products[5] }] },
    );
    const expected = newestFirst(reviews.filter((r) => r.productId === products[5])).map((r) => ({ id: r.id }));
    expect(expected).toHaveLength(5);
    expect(body.data!._entities[0]).toEqual({ one: expected.slice(0, 1), all: expected });
  });

  it('rejects page sizes outside 1..50', async () => {
    for (const first of [0, 51]) {
      const p = await query(productEntities, { reps: [{ __typename: 'Product', id: products[1] }], first });
      expect(p.body.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'first' });
      const u = await query(userEntities, { reps: [{ __typename: 'User', id: authors[0] }], first });
      expect(u.body.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'first' });
    }
  });

  it('resolves malformed and unknown entity ids to empty results, not errors', async () => {
    const { body } = await query(productEntities, {
      reps: [{ __typename: 'Product', id: "1' or 1=1" }, { __typename: 'Product', id: randomUUID() }],
    });
    expect(body.errors).toBeUndefined();
    expect(body.data!._entities.map((e: { reviews: unknown[]; averageRating: unknown }) => [e.reviews, e.averageRating])).toEqual([
      [[], null],
      [[], null],
    ]);
    const users = await query(userEntities, { reps: [{ __typename: 'User', id: 'nope' }] });
    expect(users.body.errors).toBeUndefined();
    expect(users.body.data!._entities[0].reviews).toEqual([]);
  });

  it('resolves Review references in one query, null for unknown or malformed ids', async () => {
    const ids = reviews.slice(0, 40).map((r) => r.id);
    sql.length = 0;
    const { body } = await query(
      `query($reps: [_Any!]!) { _entities(representations: $reps) { ... on Review { id rating author { id } product { id } } } }`,
      { reps: [...ids, randomUUID(), 'not-an-id'].map((id) => ({ __typename: 'Review', id })) },
    );
    expect(body.errors).toBeUndefined();
    expect(sql).toHaveLength(1);
    const entities = body.data!._entities;
    expect(entities.slice(0, 40).map((e: { id: string }) => e.id)).toEqual(ids);
    expect(entities[0]).toMatchObject({ rating: reviews[0]!.rating, author: { id: reviews[0]!.authorId }, product: { id: reviews[0]!.productId } });
    expect(entities.slice(40)).toEqual([null, null]);
  });

  it('adds a review for the signed-in user, trimming the body', async () => {
    const viewer = customer();
    const productId = await knownProduct();
    const { body } = await query(add, { input: { productId, rating: 4, body: '  Solid.  ' } }, viewer);
    expect(body.errors).toBeUndefined();
    expect(body.data!.addReview).toMatchObject({ rating: 4, body: 'Solid.', author: { id: viewer.id }, product: { id: productId } });
    expect(Date.parse(body.data!.addReview.createdAt)).not.toBeNaN();
    expect(await db.review.count({ where: { productId, authorId: viewer.id } })).toBe(1);
  });

  it('rejects anonymous callers and each bad input with its field', async () => {
    const valid = { productId: await knownProduct(), rating: 5, body: 'Great.' };
    const anonymous = await query(add, { input: valid });
    expect(anonymous.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');

    const viewer = customer();
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ productId: 'not-a-uuid' }, 'productId'],
      [{ rating: 0 }, 'rating'],
      [{ rating: 6 }, 'rating'],
      [{ body: '   ' }, 'body'],
      [{ body: 'x'.repeat(2001) }, 'body'],
    ];
    for (const [change, field] of cases) {
      const { body } = await query(add, { input: { ...valid, ...change } }, viewer);
      expect(body.errors?.[0]?.extensions, field).toMatchObject({ code: 'BAD_USER_INPUT', field });
    }
    expect(await db.review.count({ where: { authorId: viewer.id } })).toBe(0);
    const longest = await query(add, { input: { ...valid, body: 'x'.repeat(2000) } }, viewer);
    expect(longest.body.errors).toBeUndefined();
  });

  it('refuses a review of a product the catalog never announced, storing nothing', async () => {
    const viewer = customer();
    const productId = randomUUID();
    const { body } = await query(add, { input: { productId, rating: 5, body: 'Phantom.' } }, viewer);
    expect(body.errors?.[0]).toMatchObject({ message: `Product ${productId} was not found`, extensions: { code: 'NOT_FOUND' } });
    expect(await db.review.count({ where: { productId } })).toBe(0);
  });

  it('refuses a second review of the same product by the same user', async () => {
    const viewer = customer();
    const input = { productId: await knownProduct(), rating: 3, body: 'First thoughts.' };
    expect((await query(add, { input }, viewer)).body.errors).toBeUndefined();
    const again = await query(add, { input: { ...input, body: 'Second thoughts.' } }, viewer);
    expect(again.body.errors?.[0]?.extensions?.code).toBe('CONFLICT');
    expect(again.body.errors?.[0]?.message).toMatch(/already reviewed/);
    const other = await query(add, { input }, customer());
    expect(other.body.errors).toBeUndefined();
  });

  it('lets exactly one of two concurrent reviews by the same user for the same product succeed', async () => {
    const viewer = customer();
    const productId = await knownProduct();
    const results = await Promise.all(
      ['One.', 'Two.'].map((text) => query(add, { input: { productId, rating: 5, body: text } }, viewer)),
    );
    expect(results.filter((r) => r.body.data?.addReview)).toHaveLength(1);
    expect(results.flatMap((r) => r.body.errors ?? []).map((e) => e.extensions?.code)).toEqual(['CONFLICT']);
    expect(await db.review.count({ where: { productId, authorId: viewer.id } })).toBe(1);
  });

  it('refuses requests that do not carry the gateway signature', async () => {
    const unsigned = await postGraphQL(service.url, add, { input: { productId: randomUUID(), rating: 5, body: 'x' } });
    expect(unsigned.status).toBe(401);
  });
});

describe('reviews seed', () => {
  it('is idempotent', async () => {
    const seeded = await createTestDatabase('reviews', migrations);
    const seedDb = reviewsService.createDb(seeded.url);
    try {
      expect(await reviewsService.seed(seedDb)).toBe(`${seedReviews.length} reviews`);
      expect(seedReviews.length).toBe(130);
      const first = await seedDb.review.findMany({ orderBy: { id: 'asc' } });
      expect(await reviewsService.seed(seedDb)).toBe('130 reviews');
      const second = await seedDb.review.findMany({ orderBy: { id: 'asc' } });
      expect(first).toHaveLength(130);
      expect(second).toEqual(first);
    } finally {
      await seedDb.$disconnect();
      await seeded.drop();
    }
  });
});
