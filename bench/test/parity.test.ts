/**
 * Whatever the gateways' speed, Mercado's gateway must answer every benchmark query with
 * exactly the `data` the plain @apollo/gateway returns: on the public benchmark's subgraphs and
 * on Mercado's own. Everything runs in this process, on free ports.
 */
import { readFileSync } from 'node:fs';
import { composeSupergraph, startGateway } from '@mercado/gateway';
import { createLogger, type RunningService } from '@mercado/service-kit';
import { gatewayHeaders, testInternalSecret } from '@mercado/service-kit/testing';
import { startInProcessStack, type InProcessStack } from '@mercado/e2e';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { composePublicSupergraph, publicSupergraphPath } from '../public-benchmark/src/compose.ts';
import { publicSubgraphNames, startPublicSubgraph } from '../public-benchmark/src/subgraphs.ts';
import { startApolloBaseline } from '../src/gateways/apollo.ts';
import { withSubgraphUrls } from '../src/lib/supergraph.ts';
import { loginMutation, mercadoMeOrdersQuery, mercadoProductsQuery, oneSubgraphQuery, publicBenchmarkQuery } from '../src/queries.ts';

process.env.APOLLO_TELEMETRY_DISABLED = '1';

interface Answer {
  status: number;
  text: string;
  body: { data?: unknown; errors?: unknown[] };
}

async function post(url: string, query: string, headers: Record<string, string> = {}, variables?: Record<string, unknown>): Promise<Answer> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ query, ...(variables && { variables }) }),
  });
  const text = await res.text();
  return { status: res.status, text, body: JSON.parse(text) as Answer['body'] };
}

/** `data` as bytes: both servers serialize with JSON.stringify, so re-serializing the parsed value is exact. */
const dataBytes = (answer: Answer) => JSON.stringify(answer.body.data);

function expectCleanAnswer(answer: Answer) {
  expect(answer.status).toBe(200);
  expect(answer.body.errors).toBeUndefined();
  expect(answer.body.data).toBeTruthy();
}

describe('on the public benchmark subgraphs', () => {
  const subgraphs: RunningService[] = [];
  let mercado: RunningService;
  let apollo: { url: string; stop: () => Promise<void> };

  beforeAll(async () => {
    const urls: Record<string, string> = {};
    for (const name of publicSubgraphNames) {
      const running = await startPublicSubgraph(name, 0);
      subgraphs.push(running);
      urls[name] = running.url;
    }
    const supergraphSdl = composePublicSupergraph(urls);
    mercado = await startGateway({
      supergraphSdl,
      // No tokens are sent here, so the key set is never fetched.
      auth: { jwksUrl: 'http://127.0.0.1:9/.well-known/jwks.json', issuer: 'mercado-accounts', audience: 'mercado' },
      internalTokenSecret: testInternalSecret,
      production: false,
      // The public benchmark's subgraphs declare no @cost/@listSize: its nested query is a load
      // test's, not a client's, and demand control would refuse it.
      limits: { maxCost: Number.MAX_SAFE_INTEGER },
      logger: createLogger('gateway', 'silent'),
      port: 0,
    });
    apollo = await startApolloBaseline({ supergraphSdl, port: 0 });
  });

  afterAll(async () => {
    await mercado?.close();
    await apollo?.stop();
    for (const s of subgraphs) await s.close();
  });

  it('has a committed supergraph composed from these subgraphs', () => {
    expect(readFileSync(publicSupergraphPath, 'utf8')).toBe(composePublicSupergraph());
  });

  it('answers the nested benchmark query with the same ~86 KB of data as @apollo/gateway', async () => {
    const [ours, baseline] = [await post(mercado.url, publicBenchmarkQuery), await post(apollo.url, publicBenchmarkQuery)];
    expectCleanAnswer(baseline);
    expectCleanAnswer(ours);
    expect(dataBytes(baseline).length).toBeGreaterThan(80_000);
    expect(dataBytes(ours)).toBe(dataBytes(baseline));
  });

  it.each([
    ['@requires through entity fetches', '{ topProducts(first: 9) { upc name price weight inStock shippingEstimate } }'],
    ['@provides and nested entities', '{ me { id username name reviews { id author { username name } product { upc shippingEstimate } } } }'],
    ['arguments and nulls', '{ user(id: "3") { name birthday } missing: user(id: "42") { name } }'],
  ])('answers %s like @apollo/gateway', async (_label, query) => {
    const [ours, baseline] = [await post(mercado.url, query), await post(apollo.url, query)];
    expectCleanAnswer(baseline);
    expect(ours.status).toBe(200);
    expect(ours.body.errors).toBeUndefined();
    expect(dataBytes(ours)).toBe(dataBytes(baseline));
  });
});

describe("on Mercado's subgraphs", () => {
  let stack: InProcessStack;
  let apollo: { url: string; stop: () => Promise<void> };
  let authorization: Record<string, string>;

  beforeAll(async () => {
    stack = await startInProcessStack({ events: false });
    const urls = Object.fromEntries(Object.entries(stack.subgraphs).map(([name, s]) => [name, s.url]));
    apollo = await startApolloBaseline({
      supergraphSdl: withSubgraphUrls(composeSupergraph(), urls),
      port: 0,
      mercado: { internalTokenSecret: testInternalSecret, jwksUrl: `${stack.subgraphs.accounts!.baseUrl}/.well-known/jwks.json` },
    });
    const login = await post(stack.gateway.url, loginMutation, {}, { email: 'alice@mercado.dev', password: 'alice-password' });
    authorization = { authorization: `Bearer ${(login.body.data as { login: { token: string } }).login.token}` };
  });

  afterAll(async () => {
    await apollo?.stop();
    await stack?.close();
  });

  it('answers the products page like @apollo/gateway', async () => {
    const [ours, baseline] = [await post(stack.gateway.url, mercadoProductsQuery), await post(apollo.url, mercadoProductsQuery)];
    expectCleanAnswer(baseline);
    expectCleanAnswer(ours);
    expect((baseline.body.data as { products: { edges: unknown[] } }).products.edges).toHaveLength(20);
    expect(dataBytes(ours)).toBe(dataBytes(baseline));
  });

  it("answers a customer's orders like @apollo/gateway", async () => {
    const ours = await post(stack.gateway.url, mercadoMeOrdersQuery, authorization);
    const baseline = await post(apollo.url, mercadoMeOrdersQuery, authorization);
    expectCleanAnswer(baseline);
    expectCleanAnswer(ours);
    expect((baseline.body.data as { me: { orders: unknown[] } }).me.orders.length).toBeGreaterThan(0);
    expect(dataBytes(ours)).toBe(dataBytes(baseline));
  });

  it('answers the one-subgraph query like @apollo/gateway and like the subgraph itself', async () => {
    const ours = await post(stack.gateway.url, oneSubgraphQuery);
    const baseline = await post(apollo.url, oneSubgraphQuery);
    const direct = await post(stack.subgraphs.catalog!.url, oneSubgraphQuery, await gatewayHeaders());
    expectCleanAnswer(baseline);
    expectCleanAnswer(direct);
    expect(dataBytes(ours)).toBe(dataBytes(baseline));
    expect(dataBytes(direct)).toBe(dataBytes(baseline));
  });
});
