/**
 * @defer through the gateway: the products page with its reviews deferred. A client that does
 * not accept incremental delivery gets the whole response at once, equal to the same query
 * without @defer.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postGraphQL } from '@mercado/service-kit/testing';
import { startInProcessStack, type InProcessStack } from '../src/index.ts';

const page = (defer: boolean) => `query ProductsPage {
  products(first: 5, category: "coffee") {
    edges { node { id name priceCents ${defer ? '... @defer(label: "reviews") {' : '... {'} averageRating reviews(first: 2) { rating } } } }
  }
}`;

let stack: InProcessStack;

beforeAll(async () => {
  stack = await startInProcessStack({ events: false, sagas: false });
}, 120_000);
afterAll(async () => {
  await stack?.close();
});

describe('@defer', () => {
  it('answers a client that does not accept multipart with the whole response at once', async () => {
    const deferred = await postGraphQL(stack.gateway.url, page(true));
    const plain = await postGraphQL(stack.gateway.url, page(false));
    expect(deferred.status).toBe(200);
    expect(deferred.body.errors).toBeUndefined();
    expect(deferred.body).toEqual(plain.body);
    expect(deferred.body.data!.products.edges[0].node).toMatchObject({ name: expect.any(String), averageRating: expect.any(Number), reviews: expect.any(Array) });
  });
});
