/**
 * @defer through the gateway: the products page with its reviews deferred, read part by part
 * (multipart/mixed, as Apollo Client reads it): the products first, then the reviews at their
 * paths, which put together equal the same query without @defer. A client that does not accept
 * incremental delivery gets the whole response at once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { composeSupergraph, documentHash, loadTrustedDocuments, startGateway } from '@mercado/gateway';
import { createLogger } from '@mercado/service-kit';
import { postGraphQL, testInternalSecret } from '@mercado/service-kit/testing';
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

  it('sends the products first and the deferred reviews after them, as multipart/mixed parts', async () => {
    const res = await fetch(stack.gateway.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'multipart/mixed;deferSpec=20220824, application/json' },
      body: JSON.stringify({ query: page(true) }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^multipart\/mixed; boundary="-"; deferSpec=20220824/);
    const parts = await readParts(res);
    expect(parts).toHaveLength(2);
    const [first, second] = parts as [any, any];
    expect(first.hasNext).toBe(true);
    expect(first.errors).toBeUndefined();
    const nodes = first.data.products.edges.map((e: any) => e.node);
    expect(nodes.length).toBe(5);
    for (const node of nodes) expect(Object.keys(node).sort()).toEqual(['id', 'name', 'priceCents']);
    expect(second.hasNext).toBe(false);
    expect(second.incremental.map((i: any) => i.path)).toEqual(nodes.map((_: unknown, i: number) => ['products', 'edges', i, 'node']));

    // Put together, the parts are the whole response.
    for (const item of second.incremental) Object.assign(first.data.products.edges[item.path[2]].node, item.data);
    const plain = await postGraphQL(stack.gateway.url, page(false));
    expect({ data: first.data }).toEqual(plain.body);
  });

  it('checks the caller as any request does: a bad token is refused before anything runs', async () => {
    const res = await fetch(stack.gateway.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'multipart/mixed;deferSpec=20220824', authorization: 'Bearer nope' },
      body: JSON.stringify({ query: page(true) }),
    });
    expect(res.status).toBe(401);
    expect(((await res.json()) as any).errors[0].extensions.code).toBe('UNAUTHENTICATED');
  });

  it('in production, defers the trusted products page and refuses a deferred document of its own', async () => {
    const trusted = loadTrustedDocuments();
    const production = await startGateway({
      supergraphSdl: composeSupergraph(),
      subgraphUrls: Object.fromEntries(Object.entries(stack.subgraphs).map(([name, s]) => [name, s.url])),
      auth: { jwksUrl: `${stack.subgraphs.accounts!.baseUrl}/.well-known/jwks.json`, issuer: 'mercado-accounts', audience: 'mercado' },
      internalTokenSecret: testInternalSecret,
      production: true,
      trustedDocuments: trusted,
      logger: createLogger('gateway-production', 'silent'),
      port: 0,
    });
    try {
      const post = (query: string) =>
        fetch(production.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', accept: 'multipart/mixed;deferSpec=20220824, application/json' },
          body: JSON.stringify({ query, variables: { first: 3, category: 'books' } }),
        });
      const text = [...trusted.values()].find((t) => t.startsWith('query ProductsPageDeferred'))!;
      const parts = await readParts(await post(text));
      expect(parts.map((p: any) => p.hasNext)).toEqual([true, false]);
      const byHash = await fetch(production.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'multipart/mixed;deferSpec=20220824, application/json' },
        body: JSON.stringify({ variables: { first: 3, category: 'books' }, extensions: { persistedQuery: { version: 1, sha256Hash: documentHash(text) } } }),
      });
      expect(await readParts(byHash)).toEqual(parts);
      const refused = await post(page(true));
      expect(refused.status).toBe(400);
      expect(((await refused.json()) as any).errors[0].extensions.code).toBe('OPERATION_NOT_ALLOWED');
    } finally {
      await production.close();
    }
  });

  it('answers an operation without @defer as usual, multipart accepted or not', async () => {
    const res = await fetch(stack.gateway.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'multipart/mixed;deferSpec=20220824, application/json' },
      body: JSON.stringify({ query: page(false) }),
    });
    expect(res.headers.get('content-type')).toMatch(/application\/json/);
    expect(((await res.json()) as any).data.products.edges).toHaveLength(5);
  });
});

/** The JSON parts of a multipart/mixed response, in order, as they arrive. */
async function readParts(res: Response): Promise<unknown[]> {
  const text = await res.text();
  return text
    .split(/\r\n---?/)
    .map((chunk) => chunk.split('\r\n\r\n')[1])
    .filter((json): json is string => Boolean(json && json.trim()))
    .map((json) => JSON.parse(json));
}
