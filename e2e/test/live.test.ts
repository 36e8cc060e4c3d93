/**
 * Subscriptions through the gateway, on the real broker and databases: the first message is the
 * current state, then a message after each event about the followed aggregate, re-read through
 * the query plan (fields of several subgraphs); over WebSocket and SSE; refused, capped and
 * ended as the issue says.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedId, seedUsers } from '@mercado/dev-seed';
import { composeSupergraph, deleteRateLimitKeys, documentHash, loadTrustedDocuments, startGateway } from '@mercado/gateway';
import WebSocket from 'ws';
import { createLogger, type RunningService } from '@mercado/service-kit';
import { postGraphQL, testInternalSecret } from '@mercado/service-kit/testing';
import { closeBrokerConnections } from '@mercado/event-bus/testing';
import { startInProcessStack, type InProcessStack } from '../src/index.ts';
import { selectCounts, signIn } from './helpers.ts';
import { followSse, followWs, testIssuer, until, wsClient } from './liveSupport.ts';
import { placeOrder } from './sagaHelpers.ts';

const PRODUCT = `subscription($id: ID!) { productUpdated(id: $id) { id name priceCents stock { available } averageRating } }`;
const ORDER = `subscription($id: ID!) { orderUpdated(id: $id) { id status rejectionReason saga { state } payment { status } lines { quantity product { name stock { available } } } } }`;

let stack: InProcessStack;
let admin: Record<string, string>;
let alice: Record<string, string>;
let bob: Record<string, string>;
/** A second gateway of the same stack, trusting a test issuer (short-lived tokens) and capping 2 subscriptions per connection. */
let second: RunningService;
let issuer: Awaited<ReturnType<typeof testIssuer>>;
const clients: Array<{ dispose(): void | Promise<void> }> = [];

beforeAll(async () => {
  stack = await startInProcessStack();
  [admin, alice, bob] = await Promise.all([
    signIn(stack, 'admin@mercado.dev', 'admin-password'),
    signIn(stack, 'alice@mercado.dev', 'alice-password'),
    signIn(stack, 'bob@mercado.dev', 'bob-password'),
  ]);
  issuer = await testIssuer();
  second = await startGateway({
    supergraphSdl: composeSupergraph(),
    subgraphUrls: Object.fromEntries(Object.entries(stack.subgraphs).map(([name, s]) => [name, s.url])),
    auth: { jwksUrl: issuer.jwksUrl, issuer: 'mercado-accounts', audience: 'mercado' },
    internalTokenSecret: testInternalSecret,
    production: false,
    logger: createLogger('gateway-2', 'silent'),
    port: 0,
    subscriptions: { amqpUrl: process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672', eventsPrefix: stack.eventsPrefix, maxPerConnection: 2, keepAliveMs: 500 },
  });
}, 120_000);

afterAll(async () => {
  for (const client of clients) await client.dispose();
  await second?.close();
  await issuer?.close();
  await stack?.close();
});

const client = (url: string, authorization?: string) => {
  const c = wsClient(url, authorization);
  clients.push(c);
  return c;
};

async function setPrice(id: string, priceCents: number) {
  const { body } = await postGraphQL(stack.gateway.url, `mutation { updateProductPrice(id: "${id}", priceCents: ${priceCents}) { priceCents } }`, {}, admin);
  expect(body.errors).toBeUndefined();
}

describe('productUpdated', () => {
  it('over WebSocket: the current state first, then the product after a price change and after a restock', async () => {
    const id = seedId('product:COF-001');
    const followed = followWs(client(stack.gateway.url), PRODUCT, { id });
    await until('the first message', () => followed.messages.length === 1);
    const first = followed.messages[0]!.data!.productUpdated;
    expect(first).toMatchObject({ id, name: expect.any(String), priceCents: expect.any(Number), stock: { available: expect.any(Number) } });

    await setPrice(id, first.priceCents + 100);
    await until('the price change', () => followed.messages.some((m) => m.data?.productUpdated.priceCents === first.priceCents + 100));
    const { body } = await postGraphQL(stack.gateway.url, `mutation { restock(productId: "${id}", quantity: 5) { available } }`, {}, admin);
    expect(body.errors).toBeUndefined();
    await until('the restock', () => followed.messages.some((m) => m.data?.productUpdated.stock.available === first.stock.available + 5));
    // Never backwards: each message is at least as new as the one before it.
    const prices = followed.messages.map((m) => m.data!.productUpdated.priceCents);
    expect(prices.slice(1).every((p) => p === first.priceCents + 100)).toBe(true);
    followed.stop();
  });

  it('fans an event out to 50 followers of a product with one re-read, not 50', async () => {
    const id = seedId('product:COF-002');
    const connections = [client(stack.gateway.url), client(stack.gateway.url)];
    const followers = Array.from({ length: 50 }, (_, i) => followWs(connections[i % 2]!, PRODUCT, { id }));
    await until('every first message', () => followers.every((f) => f.messages.length === 1));
    stack.resetQueryLog();
    await setPrice(id, 999);
    await until('every follower hears it', () => followers.every((f) => f.messages.some((m) => m.data?.productUpdated.priceCents === 999)));
    // updateProductPrice itself reads the product a few times; the 50 re-reads share one run.
    expect(selectCounts(stack).inventory).toBeLessThanOrEqual(2);
    expect(selectCounts(stack).reviews).toBeLessThanOrEqual(4);
    for (const f of followers) f.stop();
  });

  it('reaches the subscribers of every gateway: each has its own queue of live events', async () => {
    const id = seedId('product:COF-002');
    const token = await issuer.token(seedUsers[1]!.id, 'customer', 600);
    const one = followWs(client(stack.gateway.url), PRODUCT, { id });
    const two = followWs(client(second.url, `Bearer ${token}`), PRODUCT, { id });
    await until('both first messages', () => one.messages.length === 1 && two.messages.length === 1);
    await setPrice(id, 777);
    await until('both hear the change', () => [one, two].every((f) => f.messages.some((m) => m.data?.productUpdated.priceCents === 777)));
    one.stop();
    two.stop();
  });

  it('refuses a third subscription on a connection capped at two, with TOO_MANY_SUBSCRIPTIONS', async () => {
    const c = client(second.url);
    const ids = ['COF-003', 'COF-004', 'COF-005'].map((sku) => seedId(`product:${sku}`));
    const [a, b] = ids.slice(0, 2).map((id) => followWs(c, PRODUCT, { id }));
    await until('two first messages', () => a!.messages.length === 1 && b!.messages.length === 1);
    const third = followWs(c, PRODUCT, { id: ids[2] });
    await until('refused', () => third.done);
    expect(third.refused).toEqual([[expect.objectContaining({ extensions: expect.objectContaining({ code: 'TOO_MANY_SUBSCRIPTIONS' }) })]]);
    // The two others go on.
    await setPrice(ids[0]!, 1234);
    await until('the first one still follows', () => a!.messages.some((m) => m.data?.productUpdated.priceCents === 1234));
    a!.stop();
    b!.stop();
  });

  it('ends when the token expires, with UNAUTHENTICATED', async () => {
    const token = await issuer.token(seedUsers[1]!.id, 'customer', 2);
    const followed = followWs(client(second.url, `Bearer ${token}`), PRODUCT, { id: seedId('product:COF-001') });
    await until('the first message', () => followed.messages.length === 1);
    await until('ended', () => followed.done, 10_000);
    expect(followed.messages.at(-1)?.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it("caps one user's subscriptions across connections, and counts each subscribe against the rate limit", async () => {
    const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
    const keyPrefix = `live-test-rate-${Date.now()}`;
    const capped = await startGateway({
      supergraphSdl: composeSupergraph(),
      subgraphUrls: Object.fromEntries(Object.entries(stack.subgraphs).map(([name, s]) => [name, s.url])),
      auth: { jwksUrl: issuer.jwksUrl, issuer: 'mercado-accounts', audience: 'mercado' },
      internalTokenSecret: testInternalSecret,
      production: false,
      logger: createLogger('gateway-capped', 'silent'),
      port: 0,
      rateLimit: { redisUrl, keyPrefix, points: 4, durationSeconds: 60 },
      subscriptions: { amqpUrl: process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672', eventsPrefix: stack.eventsPrefix, maxPerUser: 2 },
    });
    try {
      const token = `Bearer ${await issuer.token(seedUsers[3]!.id, 'customer', 600)}`;
      const id = seedId('product:COF-010');
      const codeOf = async () => {
        const followed = followWs(client(capped.url, token), PRODUCT, { id });
        await until('an answer', () => followed.messages.length > 0 || followed.done);
        return followed.messages.length > 0 ? 'OK' : (followed.refused[0] as Array<{ extensions: { code: string } }>)[0]!.extensions.code;
      };
      expect([await codeOf(), await codeOf(), await codeOf(), await codeOf(), await codeOf()]).toEqual([
        'OK',
        'OK',
        'TOO_MANY_SUBSCRIPTIONS',
        'TOO_MANY_SUBSCRIPTIONS',
        'RATE_LIMITED',
      ]);
    } finally {
      await capped.close();
      await deleteRateLimitKeys(redisUrl, keyPrefix);
    }
  });

  it('resumes after the broker connection is lost: the subscriber is brought up to date, nothing hangs', async () => {
    const id = seedId('product:COF-009');
    const followed = followWs(client(stack.gateway.url), PRODUCT, { id });
    await until('the first message', () => followed.messages.length === 1);
    expect(await closeBrokerConnections(`${stack.eventsPrefix}-gateway-live`)).toBeGreaterThan(0);
    // The gateway's queue went with its connection: this event may reach no queue of the gateway's;
    // the re-read after the reconnect brings it anyway.
    await setPrice(id, 2468);
    await until('the price, after the reconnect', () => followed.messages.some((m) => m.data?.productUpdated.priceCents === 2468));
    expect(followed.done).toBe(false);
    followed.stop();
  });

  it('closes a connection that sends a malformed message (4400), without touching others', async () => {
    const ws = new WebSocket(stack.gateway.url.replace(/^http/, 'ws'), 'graphql-transport-ws');
    await new Promise((resolve) => ws.once('open', resolve));
    ws.send('{"type":"connection_init"}');
    ws.send('not json at all');
    const code = await new Promise<number>((resolve) => ws.once('close', (c) => resolve(c)));
    expect(code).toBe(4400);
  });

  it('over SSE too, ends when the token expires, with UNAUTHENTICATED', async () => {
    const token = await issuer.token(seedUsers[1]!.id, 'customer', 2);
    const followed = await followSse(second.url, PRODUCT, { id: seedId('product:COF-001') }, { authorization: `Bearer ${token}` });
    await until('the first message', () => followed.messages.length === 1);
    await until('ended', () => followed.done, 10_000);
    expect(followed.messages.at(-1)?.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('cuts off a WebSocket client that stops reading (it answers no ping)', async () => {
    const ws = new WebSocket(second.url.replace(/^http/, 'ws'), 'graphql-transport-ws');
    const messages: Array<{ type: string }> = [];
    ws.on('message', (data) => void messages.push(JSON.parse(String(data))));
    await new Promise((resolve) => ws.once('open', resolve));
    ws.send(JSON.stringify({ type: 'connection_init', payload: {} }));
    await until('acknowledged', () => messages.some((m) => m.type === 'connection_ack'));
    ws.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: PRODUCT, variables: { id: seedId('product:COF-001') } } }));
    await until('the first message', () => messages.some((m) => m.type === 'next'));
    const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
    (ws as unknown as { _socket: { pause(): void; resume(): void } })._socket.pause();
    await new Promise((resolve) => setTimeout(resolve, 2_000)); // four pings unanswered
    (ws as unknown as { _socket: { resume(): void } })._socket.resume();
    expect(await closed).toBe(1006); // terminated, not closed politely
  });

  it('refuses a connection whose token does not verify', async () => {
    const followed = followWs(client(stack.gateway.url, 'Bearer not.a.token'), PRODUCT, { id: seedId('product:COF-001') });
    await until('refused', () => followed.done);
    expect(followed.messages).toEqual([]);
    expect((followed.refused[0] as { code?: number }).code).toBe(4403);
  });
});

describe('orderUpdated', () => {
  it('over SSE and WebSocket: the owner follows the order from PENDING to CONFIRMED, with fields of other subgraphs', async () => {
    const { body } = await placeOrder(stack, alice, [{ productId: seedId('product:COF-006'), quantity: 1 }]);
    const id = body.data.placeOrder.id as string;
    const overSse = await followSse(stack.gateway.url, ORDER, { id }, alice);
    const overWs = followWs(client(stack.gateway.url, alice.authorization), ORDER, { id });
    expect(overSse.status).toBe(200);
    for (const followed of [overSse, overWs]) {
      await until('CONFIRMED', () => followed.messages.some((m) => m.data?.orderUpdated.status === 'CONFIRMED' && m.data.orderUpdated.saga.state === 'COMPLETED'));
      const orders = followed.messages.map((m) => m.data!.orderUpdated);
      expect(orders.at(-1)).toMatchObject({
        id,
        status: 'CONFIRMED',
        rejectionReason: null,
        saga: { state: 'COMPLETED' },
        payment: { status: expect.any(String) },
        lines: [{ quantity: 1, product: { name: expect.any(String), stock: { available: expect.any(Number) } } }],
      });
      // Never backwards: PENDING (if it was still pending at subscribe) before CONFIRMED, never after.
      const ranks = orders.map((o) => ['PENDING', 'CONFIRMED'].indexOf(o.status));
      expect(ranks).toEqual([...ranks].sort());
      followed.stop();
    }
  });

  it("refuses a stranger with NOT_FOUND, as for order, and ends the subscription", async () => {
    const { body } = await placeOrder(stack, alice, [{ productId: seedId('product:COF-007'), quantity: 1 }]);
    const id = body.data.placeOrder.id as string;
    const overSse = await followSse(stack.gateway.url, ORDER, { id }, bob);
    await until('ended', () => overSse.done);
    expect(overSse.messages.map((m) => m.errors?.[0]?.extensions?.code)).toEqual(['NOT_FOUND']);
    const overWs = followWs(client(stack.gateway.url, bob.authorization), ORDER, { id });
    await until('ended', () => overWs.done);
    expect(overWs.messages.map((m) => m.errors?.[0]?.extensions?.code)).toEqual(['NOT_FOUND']);
    const anonymous = followWs(client(stack.gateway.url), ORDER, { id });
    await until('ended', () => anonymous.done);
    expect(anonymous.messages.map((m) => m.errors?.[0]?.extensions?.code)).toEqual([expect.stringMatching(/NOT_FOUND|UNAUTHENTICATED/)]);
  });

  it('refuses an invalid subscription before running anything (400 over SSE)', async () => {
    const followed = await followSse(stack.gateway.url, 'subscription { productUpdated(id: "x") { nope } }', {});
    expect(followed.status).toBe(400);
    expect(followed.body?.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
  });
});

describe('the door', () => {
  it('refuses a WebSocket upgrade from a page of a foreign origin (403), as for HTTP', async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const ws = new WebSocket(stack.gateway.url.replace(/^http/, 'ws'), 'graphql-transport-ws', { headers: { origin: 'https://evil.example' } });
      ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.once('open', () => reject(new Error('opened')));
    });
    expect(status).toBe(403);
  });

  it('in production runs only trusted subscriptions, by text or by hash', async () => {
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
      subscriptions: { amqpUrl: process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672', eventsPrefix: stack.eventsPrefix },
    });
    try {
      const c = client(production.url);
      const id = seedId('product:COF-008');
      const own = followWs(c, PRODUCT, { id });
      await until('refused', () => own.done);
      expect(own.refused).toEqual([[expect.objectContaining({ extensions: expect.objectContaining({ code: 'OPERATION_NOT_ALLOWED' }) })]]);
      const text = [...trusted.values()].find((t) => t.startsWith('subscription ProductUpdated'))!;
      const byText = followWs(c, text, { id });
      const byHash = c.subscribe(
        { query: '', variables: { id }, extensions: { persistedQuery: { version: 1, sha256Hash: documentHash(text) } } },
        { next: (m) => void hashed.push(m), error: () => {}, complete: () => {} },
      );
      const hashed: unknown[] = [];
      await until('both first messages', () => byText.messages.length === 1 && hashed.length === 1);
      expect(hashed[0]).toEqual(byText.messages[0]);
      byText.stop();
      byHash();
    } finally {
      await production.close();
    }
  });
});
