import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postGraphQL } from '@mercado/service-kit/testing';
import { startInProcessStack, type InProcessStack } from '../src/index.ts';
import { selectCounts, signIn } from './helpers.ts';

/**
 * Real operations through the gateway over all five subgraphs on the development seed, compared
 * as exact JSON with the expected responses in test/expected/ (supergraph-demo-fed2's smoke test).
 */
const operation = (name: string) => readFileSync(new URL(`./operations/${name}.graphql`, import.meta.url), 'utf8');
const expected = (name: string) => JSON.parse(readFileSync(new URL(`./expected/${name}.json`, import.meta.url), 'utf8'));

let stack: InProcessStack;
beforeAll(async () => {
  stack = await startInProcessStack();
});
afterAll(() => stack?.close());

describe('through the gateway', () => {
  it('answers a products page with stock and reviews exactly', async () => {
    const { status, body } = await postGraphQL(stack.gateway.url, operation('productsPage'), { category: 'coffee' });
    expect(status).toBe(200);
    expect(body).toEqual(expected('productsPage'));
  });

  it("answers a customer's orders across all five subgraphs exactly", async () => {
    const auth = await signIn(stack, 'alice@mercado.dev', 'alice-password');
    const { status, body } = await postGraphQL(stack.gateway.url, operation('myOrders'), {}, auth);
    expect(status).toBe(200);
    expect(body).toEqual(expected('myOrders'));
  });

  it('resolves 50 products with stock and reviews in a bounded number of SQL queries per subgraph', async () => {
    stack.resetQueryLog();
    const { body } = await postGraphQL(
      stack.gateway.url,
      `{ products(first: 50) { edges { node { id name priceCents stock { available reserved }
          reviews(first: 3) { rating author { name } } averageRating } } } }`,
    );
    expect(body.errors).toBeUndefined();
    const products = body.data!.products.edges;
    expect(products).toHaveLength(50);
    expect(products.every((e: any) => typeof e.node.stock.available === 'number' && e.node.reviews.length >= 2)).toBe(true);
    const counts = selectCounts(stack);
    // catalog: the page and its count; inventory: one; reviews: reviews + averages; accounts: the authors.
    expect(counts).toEqual({ catalog: 2, inventory: 1, reviews: 2, accounts: 1, orders: 0, payments: 0 });
  });
});
