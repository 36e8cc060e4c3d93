/**
 * `npm run bench:live [-- --quick]`: subscriptions through one compiled gateway process in front
 * of the whole system (every service in this process, on the real broker, databases and Redis):
 *
 *   1. idle: N WebSocket subscriptions (productUpdated, anonymous, over 10 connections) held by
 *      the gateway; its resident memory before and after, per subscription;
 *   2. fan-out: a price change to a product 1,000 of them follow: from sending the admin's
 *      updateProductPrice (so the commit is inside the figure) to each follower's message, p50/p99,
 *      and to the last follower's, per change;
 *   3. an order: from sending placeOrder to the CONFIRMED message of an orderUpdated subscription
 *      opened as soon as the order's id is known.
 *
 * Writes bench/results/live.json. Options: --quick (2,000 idle subscriptions, fewer rounds).
 */
import { createServer } from 'node:net';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { fmt, machine, percentiles, sleep, table, writeResults } from '../events/measure.ts';

process.env.APOLLO_TELEMETRY_DISABLED = '1';

const { values: args } = parseArgs({ options: { quick: { type: 'boolean', default: false } } });
const quick = args.quick!;
const settings = { idle: quick ? 2_000 : 10_000, followers: 1_000, changes: quick ? 5 : 20, orders: quick ? 3 : 10, connections: 10 };
const log = (line: string) => console.log(line);
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

const freePort = () =>
  new Promise<number>((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });

const rssOf = (pid: number) => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) * 1024;

async function until(what: string, check: () => boolean, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs / 1000} s`);
    await sleep(5);
  }
}

const PRODUCT = 'subscription($id: ID!) { productUpdated(id: $id) { id priceCents stock { available } } }';
const ORDER = 'subscription($id: ID!) { orderUpdated(id: $id) { id status saga { state } } }';

async function main() {
  const m = machine();
  log(`Mercado live bench: ${m.cpus} x ${m.model}, Node ${m.node}, load average ${m.loadAverage}${quick ? ' (--quick)' : ''}\n`);
  const { startInProcessStack } = await import('@mercado/e2e');
  const { spawnDeployable, untilReady } = await import('@mercado/bring-up');
  const { seedId, seedProducts } = await import('@mercado/dev-seed');
  const { postGraphQL, testInternalSecret } = await import('@mercado/service-kit/testing');
  const { deleteRateLimitKeys } = await import('@mercado/gateway');

  log('starting every service in this process...');
  const stack = await startInProcessStack();
  const rateLimitPrefix = `bench-live-${randomBytes(4).toString('hex')}`;
  const ports = { port: await freePort(), metricsPort: await freePort() };
  const gateway = spawnDeployable({
    name: 'gateway',
    ports,
    host: '127.0.0.1',
    env: {
      PORT: String(ports.port),
      METRICS_PORT: String(ports.metricsPort),
      LOG_LEVEL: 'warn',
      APOLLO_TELEMETRY_DISABLED: '1',
      INTERNAL_TOKEN_SECRET: testInternalSecret,
      REDIS_URL: redisUrl,
      RATE_LIMIT_PREFIX: rateLimitPrefix,
      RATE_LIMIT_POINTS: '1000000',
      ADMIN_DASHBOARD: 'off',
      AMQP_URL: process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672',
      EVENTS_PREFIX: stack.eventsPrefix,
      MAX_SUBSCRIPTIONS_PER_CONNECTION: '100000',
      MAX_SUBSCRIPTIONS_PER_USER: '100000',
      ACCOUNTS_JWKS_URL: `${stack.subgraphs.accounts!.baseUrl}/.well-known/jwks.json`,
      ...Object.fromEntries(Object.entries(stack.subgraphs).map(([name, s]) => [`SUBGRAPH_${name.toUpperCase()}_URL`, s.url])),
    },
  });
  const clients: Client[] = [];
  try {
    await untilReady(gateway, 60_000);
    const pid = gateway.child.pid!;
    const signIn = async (email: string, password: string) => {
      const { body } = await postGraphQL<any>(stack.gateway.url, 'mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token } }', { e: email, p: password });
      return `Bearer ${body.data.login.token}`;
    };
    const admin = await signIn('admin@mercado.dev', 'admin-password');
    const alice = await signIn('alice@mercado.dev', 'alice-password');
    const wsUrl = gateway.url.replace(/^http/, 'ws');
    for (let i = 0; i < settings.connections; i++) {
      clients.push(createClient({ url: wsUrl, webSocketImpl: WebSocket, retryAttempts: 0, lazy: false, connectionParams: {} }));
    }
    // Warm the gateway up (plans, JIT) with a few subscriptions, then take the memory at rest.
    await postGraphQL(gateway.url, '{ products(first: 5) { edges { node { id } } } }');
    await sleep(2_000);
    const rssBefore = rssOf(pid);

    // 1. idle subscriptions
    const followed = seedProducts[0]!.id;
    const others = seedProducts.slice(1).map((p) => p.id);
    const prices = new Map<number, number[]>(); // subscription index -> prices seen
    let first = 0;
    const started = performance.now();
    const receivedAt: Array<Map<number, number>> = [];
    for (let i = 0; i < settings.idle; i++) {
      const id = i < settings.followers ? followed : others[i % others.length]!;
      const seen: number[] = [];
      const at = new Map<number, number>();
      prices.set(i, seen);
      receivedAt.push(at);
      clients[i % clients.length]!.subscribe(
        { query: PRODUCT, variables: { id } },
        {
          next: (message) => {
            const price = (message.data as { productUpdated?: { priceCents: number } } | null)?.productUpdated?.priceCents;
            if (price === undefined) return;
            if (seen.length === 0) first++;
            seen.push(price);
            at.set(price, performance.now());
          },
          error: (error) => log(`    subscription ${i} failed: ${JSON.stringify(error)}`),
          complete: () => {},
        },
      );
      if (i % 500 === 499) await until('first messages', () => first >= i + 1 - 200);
    }
    await until('every first message', () => first === settings.idle, 300_000);
    const subscribeSeconds = (performance.now() - started) / 1000;
    await sleep(5_000);
    const rssAfter = rssOf(pid);
    const perSubscription = (rssAfter - rssBefore) / settings.idle;
    log(`1/3 ${fmt(settings.idle)} idle subscriptions (subscribed in ${subscribeSeconds.toFixed(1)} s): gateway RSS ${fmt(rssBefore / 2 ** 20)} -> ${fmt(rssAfter / 2 ** 20)} MB, ${fmt(perSubscription / 1024)} KB per subscription`);

    // 2. fan-out of a price change to the followers
    const perFollower: number[] = [];
    const lastFollower: number[] = [];
    const base = 5_000 + Math.floor(Math.random() * 1_000);
    for (let round = 0; round < settings.changes; round++) {
      const price = base + round;
      const sentAt = performance.now();
      const { body } = await postGraphQL(stack.gateway.url, `mutation { updateProductPrice(id: "${followed}", priceCents: ${price}) { priceCents } }`, {}, { authorization: admin });
      if (body.errors) throw new Error(JSON.stringify(body.errors));
      await until('every follower', () => receivedAt.slice(0, settings.followers).every((at) => at.has(price)), 60_000);
      const latencies = receivedAt.slice(0, settings.followers).map((at) => at.get(price)! - sentAt);
      perFollower.push(...latencies);
      lastFollower.push(Math.max(...latencies));
      await sleep(200);
    }
    const fan = percentiles(perFollower);
    const last = percentiles(lastFollower);
    log(`2/3 a price change to ${fmt(settings.followers)} followers, ${settings.changes} times: each follower p50 ${fan.p50.toFixed(0)} ms, p99 ${fan.p99.toFixed(0)} ms; last follower p50 ${last.p50.toFixed(0)} ms, p99 ${last.p99.toFixed(0)} ms`);

    // 3. placeOrder -> CONFIRMED
    const orderLatencies: number[] = [];
    const orderClient = createClient({ url: wsUrl, webSocketImpl: WebSocket, retryAttempts: 0, connectionParams: { authorization: alice } });
    clients.push(orderClient);
    for (let n = 0; n < settings.orders; n++) {
      const sentAt = performance.now();
      const { body } = await postGraphQL<any>(
        gateway.url,
        'mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { id } }',
        { input: { lines: [{ productId: seedId('product:BOO-001'), quantity: 1 }], idempotencyKey: `bench-live-${randomBytes(6).toString('hex')}` } },
        { authorization: alice },
      );
      if (body.errors) throw new Error(JSON.stringify(body.errors));
      let confirmedAt: number | undefined;
      const stop = orderClient.subscribe(
        { query: ORDER, variables: { id: body.data.placeOrder.id } },
        { next: (m) => void ((m.data as any)?.orderUpdated?.status === 'CONFIRMED' && (confirmedAt ??= performance.now())), error: () => {}, complete: () => {} },
      );
      await until('CONFIRMED', () => confirmedAt !== undefined, 60_000);
      stop();
      orderLatencies.push(confirmedAt! - sentAt);
    }
    const orders = percentiles(orderLatencies);
    log(`3/3 placeOrder to the CONFIRMED message, ${settings.orders} orders one after another: p50 ${orders.p50.toFixed(0)} ms, p99 ${orders.p99.toFixed(0)} ms\n`);

    log(
      table([
        ['measure', 'value', 'target'],
        ['gateway RSS per idle subscription', `${fmt(perSubscription / 1024)} KB (${fmt(settings.idle)} subscriptions)`, '< 50 KB'],
        ['price change -> last of 1,000 followers, p50 / p99', `${last.p50.toFixed(0)} / ${last.p99.toFixed(0)} ms`, 'p99 < 250 ms'],
        ['price change -> each follower, p50 / p99', `${fan.p50.toFixed(0)} / ${fan.p99.toFixed(0)} ms`, ''],
        ['placeOrder -> CONFIRMED message, p50 / p99', `${orders.p50.toFixed(0)} / ${orders.p99.toFixed(0)} ms`, ''],
      ]),
    );
    const file = writeResults('live', {
      machine: m,
      settings,
      idle: { subscriptions: settings.idle, subscribeSeconds, rssBeforeBytes: rssBefore, rssAfterBytes: rssAfter, bytesPerSubscription: Math.round(perSubscription) },
      fanOut: { followers: settings.followers, changes: settings.changes, perFollowerMs: fan, lastFollowerMs: last },
      placeOrderToConfirmedMs: orders,
    });
    log(`\nwrote ${file}`);
  } finally {
    for (const c of clients) await c.dispose();
    await gateway.stop(10_000);
    await stack.close();
    await deleteRateLimitKeys(redisUrl, rateLimitPrefix);
  }
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
