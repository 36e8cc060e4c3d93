/**
 * Every service as two replicas, each a compiled process with all its workers (GraphQL, outbox
 * relay, event consumer, saga workers, sweeps) behind a Service, and two gateways behind an
 * Ingress (test/support/cluster.ts). Customers and an admin use the system the whole time:
 * orders that are confirmed, declined or out of stock, cancellations, price changes, restocks,
 * registrations and reviews. Meanwhile:
 *   1. one replica of every deployable is SIGKILLed at a random moment and replaced, and every
 *      broker connection of the stack is closed once (or the broker restarted, see below);
 *   2. every replica is replaced in turn as a rolling update does: a new one started and ready,
 *      the old one taken out of its Service and sent SIGTERM.
 * Afterwards every saga has ended; no unit was sold twice or that was not there; every confirmed
 * order was charged exactly once and every rejected one compensated; every read model equals its
 * sources; every outbox is empty and nothing is parked; each event reached each consumer exactly
 * once (its inbox holds as many of them as its source produced); every SIGTERM'd replica exited
 * 0; and no client request failed during the rolling update.
 *
 * MERCADO_TEST_SEED picks the kill moments and victims (each run prints its seed, to repeat it).
 * MERCADO_TEST_BROKER_RESTART=1 restarts the broker itself (rabbitmqctl stop_app / start_app)
 * instead of closing this stack's connections: only on a machine where nothing else uses it.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootstrapReadModels, databaseUrlOf, declareBroker, dropStack, loadServices, prepareDatabases } from '@mercado/bring-up';
import { listParked, topologyNames, verifyUntilEqual } from '@mercado/event-bus';
import { closeBrokerConnections } from '@mercado/event-bus/testing';
import { seedId, seedProducts } from '@mercado/dev-seed';
import { testInternalSecret } from '@mercado/service-kit/testing';
import { consumers, gateway, producers, services, type Stack } from '@mercado/system';
import { SagaLedgers, type LedgerSnapshot } from '../src/sagaInvariants.ts';
import { Cluster } from './support/cluster.ts';
import { freshStack } from './support/freshStack.ts';

const seed = Number(process.env.MERCADO_TEST_SEED ?? Date.now() % 1_000_000_000);
const restartBroker = process.env.MERCADO_TEST_BROKER_RESTART === '1';

/** A small seeded generator (mulberry32): the same seed makes the same kill moments and victims. */
function seeded(value: number) {
  let a = value >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const random = seeded(seed);
const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));


type Phase = 'steady' | 'kills' | 'rolling' | 'after';
type Auth = Record<string, string>;
interface Answer {
  data?: any;
  errors?: Array<{ message: string; extensions?: { code?: string } }>;
}

/**
 * The clients: each call records whether the system failed it (no answer, a 5xx, an internal or
 * unavailable error), in the phase it was sent in. Domain answers (CONFLICT, a declined order)
 * are answers, not failures.
 */
class Clients {
  phase: Phase = 'steady';
  readonly outcomes: Array<{ phase: Phase; op: string; failure?: string }> = [];
  readonly restocked = new Map<string, number>();
  private stopping = false;
  private readonly loops: Array<Promise<void>> = [];

  constructor(private readonly url: string) {}

  async call(op: string, query: string, variables: Record<string, unknown>, auth: Auth = {}): Promise<Answer | undefined> {
    const phase = this.phase;
    let failure: string | undefined;
    let answer: Answer | undefined;
    try {
      const res = await fetch(this.url, { method: 'POST', headers: { 'content-type': 'application/json', ...auth }, body: JSON.stringify({ query, variables }), signal: AbortSignal.timeout(60_000) });
      const text = await res.text();
      if (res.status >= 500) failure = `HTTP ${res.status} ${text.slice(0, 200)}`;
      else {
        answer = JSON.parse(text) as Answer;
        const broken = answer.errors?.find((e) => !e.extensions?.code || ['INTERNAL_SERVER_ERROR', 'SERVICE_UNAVAILABLE'].includes(e.extensions.code));
        if (broken) failure = `${broken.extensions?.code ?? 'no code'}: ${broken.message}`;
        else if (res.status !== 200 && !answer.errors) failure = `HTTP ${res.status}`;
      }
    } catch (error) {
      failure = (error as Error).message;
    }
    this.outcomes.push({ phase, op, ...(failure ? { failure } : {}) });
    return failure ? undefined : answer;
  }

  /** The same request until it is answered: what a client whose answer was lost does (for requests safe to repeat). */
  async untilAnswered(op: string, query: string, variables: Record<string, unknown>, auth: Auth = {}): Promise<Answer> {
    const deadline = Date.now() + 120_000;
    for (;;) {
      const answer = await this.call(op, query, variables, auth);
      if (answer) return answer;
      if (Date.now() > deadline) throw new Error(`${op} unanswered for 120 s`);
      await sleep(200);
    }
  }

  /** Runs `step` again and again, `pauseMs` apart, until stopped. */
  loop(step: () => Promise<unknown>, pauseMs: number): void {
    this.loops.push(
      (async () => {
        while (!this.stopping) {
          await step();
          await sleep(pauseMs * (0.5 + random()));
        }
      })(),
    );
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all(this.loops);
  }
}

const ORDER = 'mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { id status } }';
const ORDER_STATE = 'query($id: ID!) { order(id: $id) { status saga { state } } }';
const CANCEL = 'mutation($id: ID!) { cancelOrder(id: $id) { id status } }';
const PRICE = 'mutation($id: ID!, $cents: Int!) { updateProductPrice(id: $id, priceCents: $cents) { priceCents } }';
const RESTOCK = 'mutation($id: ID!, $q: Int!, $key: String) { restock(productId: $id, quantity: $q, idempotencyKey: $key) { available } }';
const REGISTER = 'mutation($input: RegisterInput!) { register(input: $input) { token } }';
const REVIEW = 'mutation($input: AddReviewInput!) { addReview(input: $input) { id } }';
const LOGIN = 'mutation($email: String!, $password: String!) { login(email: $email, password: $password) { token } }';

let stack: Stack;
let cluster: Cluster;
let ledgers: SagaLedgers;
let before: LedgerSnapshot;
const pools: Record<string, pg.Pool> = {};
const users: Record<string, Auth> = {};

beforeAll(async () => {
  console.log(`replica test: MERCADO_TEST_SEED=${seed}${restartBroker ? ' MERCADO_TEST_BROKER_RESTART=1' : ''}`);
  stack = await freshStack('replicas', 4);
  await prepareDatabases(stack);
  await declareBroker(stack);
  await bootstrapReadModels(stack);
  // Rate limits are not what this test is about; deadlines are generous so that the outcome of
  // an order depends on stock and credit rather than on how long a replacement takes here.
  // SHUTDOWN_DELAY_MS as in the Kubernetes manifests: a replica taken out of its Service keeps
  // serving a moment before it closes its connections, so a request the proxy had already routed
  // to it (on a kept-alive socket the replica would otherwise close under it) still lands.
  cluster = await Cluster.create(stack, testInternalSecret, { LOG_LEVEL: 'warn', RATE_LIMIT_POINTS: '1000000', SAGA_STEP_TIMEOUT_MS: '60000', SHUTDOWN_DELAY_MS: '1000' });
  await Promise.all(services.flatMap((s) => [cluster.start(s.name), cluster.start(s.name)]));
  await Promise.all([cluster.start(gateway.name), cluster.start(gateway.name)]);
  for (const s of services) pools[s.name] = new pg.Pool({ connectionString: databaseUrlOf(stack, s.name), max: 2 });
  await readModelsEqual();
  ledgers = new SagaLedgers({ databaseUrls: Object.fromEntries(services.map((s) => [s.name, databaseUrlOf(stack, s.name)])) });
  const clients = new Clients(cluster.url);
  for (const name of ['admin', 'alice', 'bob', 'carol']) {
    const { data } = await clients.untilAnswered('login', LOGIN, { email: `${name}@mercado.dev`, password: `${name}-password` });
    users[name] = { authorization: `Bearer ${data.login.token}` };
  }
  for (const customerId of [seedId('user:alice'), seedId('user:carol')]) {
    await clients.untilAnswered(
      'credit',
      'mutation($id: ID!, $cents: Int!) { setCreditLimit(customerId: $id, creditLimitCents: $cents) { creditLimitCents } }',
      { id: customerId, cents: 100_000_000 },
      users.admin,
    );
  }
  before = await ledgers.snapshot();
}, 600_000);

afterAll(async () => {
  await cluster?.stop();
  await ledgers?.close();
  for (const pool of Object.values(pools)) await pool.end();
  if (stack) await dropStack(stack);
}, 120_000);

/** Every read model equals its sources (looking again while events are in flight). */
async function readModelsEqual(timeoutMs = 90_000) {
  const modules = await loadServices();
  const dbs = Object.fromEntries(services.map((s) => [s.name, modules[s.name]!.createDb(databaseUrlOf(stack, s.name))]));
  try {
    const reports = [];
    for (const consumer of Object.values(modules).filter((m) => m.events?.readModel)) {
      reports.push(await verifyUntilEqual({ consumer, services: modules, dbs, timeoutMs, intervalMs: 250 }));
    }
    return reports;
  } finally {
    for (const db of Object.values(dbs)) await (db as { $disconnect(): Promise<void> }).$disconnect();
  }
}

const count = async (service: string, sql: string, params: unknown[] = []) => Number((await pools[service]!.query(sql, params)).rows[0].n);
const inboxOf = (service: string, type: string) => count(service, 'SELECT count(*) AS n FROM "InboxEvent" WHERE "type" = $1', [type]);

describe('two replicas of every service and gateway, under faults and a rolling update', () => {
  it('lose nothing, do nothing twice, and fail no request while replicas are replaced with SIGTERM', async () => {
    const clients = new Clients(cluster.url);
    const plentiful = seedProducts.filter((p) => p.stock >= 20);
    const expensive = plentiful.filter((p) => p.priceCents > 3_000); // over Bob's 30 EUR of credit
    const scarce = seedProducts.filter((p) => p.stock < 20);
    const priced = plentiful.slice(0, 8);
    const placeOrder = async (customer: string, lines: Array<{ productId: string; quantity: number }>) =>
      (await clients.untilAnswered('placeOrder', ORDER, { input: { lines, idempotencyKey: `replicas-${randomUUID()}` } }, users[customer])).data?.placeOrder as { id: string } | undefined;

    // Customers whose orders are confirmed, now and then cancelling one once it completed.
    for (const customer of ['alice', 'carol']) {
      let placed = 0;
      clients.loop(async () => {
        const order = await placeOrder(customer, [{ productId: pick(plentiful).id, quantity: 1 }]);
        if (!order || ++placed % 4 !== 0) return;
        for (let i = 0; i < 200; i++) {
          const state = (await clients.untilAnswered('order', ORDER_STATE, { id: order.id }, users[customer])).data?.order;
          if (state?.saga?.state === 'COMPLETED') break;
          if (state?.saga && state.saga.state !== 'RUNNING') return; // rejected: nothing to cancel
          await sleep(150);
        }
        await clients.untilAnswered('cancelOrder', CANCEL, { id: order.id }, users[customer]);
      }, 300);
    }
    // Declined (Bob's credit) and out of stock: compensations.
    clients.loop(() => placeOrder('bob', [{ productId: pick(expensive).id, quantity: 1 }]), 600);
    clients.loop(() => placeOrder('alice', [{ productId: pick(scarce).id, quantity: 100 }]), 900);
    // The admin: prices, and restocks with an idempotency key (a lost answer is sent again).
    clients.loop(async () => {
      const product = pick(priced);
      await clients.untilAnswered('price', PRICE, { id: product.id, cents: 1_000 + Math.floor(random() * 2_000) }, users.admin);
      const restock = { id: pick(plentiful).id, q: 1 + Math.floor(random() * 5), key: `replicas-${randomUUID()}` };
      await clients.untilAnswered('restock', RESTOCK, restock, users.admin);
      clients.restocked.set(restock.id, (clients.restocked.get(restock.id) ?? 0) + restock.q);
    }, 250);
    // New customers who review a product.
    clients.loop(async () => {
      const registered = await clients.call('register', REGISTER, { input: { email: `r-${randomUUID()}@example.com`, name: 'Replica Reviewer', password: 'replica-test-password' } });
      const token = registered?.data?.register?.token;
      if (token) await clients.untilAnswered('addReview', REVIEW, { input: { productId: pick(seedProducts).id, rating: 4, body: 'Still here after the restarts.' } }, { authorization: `Bearer ${token}` });
    }, 500);

    await sleep(5_000);

    // 1. One replica of each deployable killed at a random moment and replaced; the broker goes away once.
    clients.phase = 'kills';
    const deployables = [...services.map((s) => s.name), gateway.name].sort(() => random() - 0.5);
    for (const [i, name] of deployables.entries()) {
      await sleep(500 + random() * 2_000);
      await cluster.kill(pick(cluster.instances(name)));
      if (i === Math.floor(deployables.length / 2)) {
        if (restartBroker) {
          const exec = promisify(execFile);
          await exec('rabbitmqctl', ['stop_app']);
          await exec('rabbitmqctl', ['start_app']);
          await exec('rabbitmqctl', ['await_startup']);
        } else {
          expect(await closeBrokerConnections(`${stack.name}-`)).toBeGreaterThanOrEqual(producers.length + consumers.length);
        }
      }
    }
    await sleep(3_000);

    // 2. A rolling update of everything: never fewer ready replicas than before, each old one drained.
    clients.phase = 'rolling';
    for (const name of [...services.map((s) => s.name), gateway.name]) await cluster.roll(name);
    clients.phase = 'after';
    await clients.stop();

    const failed = (phase: Phase) => clients.outcomes.filter((o) => o.phase === phase && o.failure);
    const sent = (phase: Phase) => clients.outcomes.filter((o) => o.phase === phase).length;
    console.log(
      `replica test (seed ${seed}): ${clients.outcomes.length} requests; steady ${sent('steady')} (${failed('steady').length} failed), ` +
        `kills ${sent('kills')} (${failed('kills').length} failed), rolling ${sent('rolling')} (${failed('rolling').length} failed)`,
    );
    expect(failed('rolling'), 'requests failed during the rolling update').toEqual([]);
    expect(sent('rolling')).toBeGreaterThan(100);
    expect(failed('steady')).toEqual([]);
    expect(
      cluster.terminated.filter((t) => t.exit.code !== 0).map((t) => `${t.label}: ${JSON.stringify(t.exit)}\n${t.output}`),
      'replicas that did not exit 0 on SIGTERM',
    ).toEqual([]);
    expect(cluster.terminated).toHaveLength(2 * (services.length + 1));

    // Every saga ended, and the three ledgers agree: nothing sold twice, charged twice or left held.
    await ledgers.untilSagasFinished(180_000);
    expect(await ledgers.violations(before, { restocked: clients.restocked })).toEqual([]);
    const outcomes = await ledgers.sagaOrders();
    expect(new Set(outcomes.map((o) => o.status))).toEqual(new Set(['CONFIRMED', 'REJECTED', 'CANCELLED']));

    // Every read model equals its sources; nothing left in an outbox or parked.
    for (const report of await readModelsEqual()) expect(report, report.consumer).toMatchObject({ equal: true });
    for (const producer of producers) {
      const deadline = Date.now() + 60_000;
      while ((await count(producer.name, 'SELECT count(*) AS n FROM "OutboxEvent"')) > 0 && Date.now() < deadline) await sleep(250);
      expect(await count(producer.name, 'SELECT count(*) AS n FROM "OutboxEvent"'), `${producer.name}'s outbox`).toBe(0);
    }
    for (const consumer of consumers) expect(await listParked(stack.amqpUrl, topologyNames(stack.name), consumer.name), `${consumer.name}'s parking lot`).toEqual([]);

    // Each event reached each consumer exactly once: its inbox holds as many as its source made.
    // A price change bumps the product's version by one, a stock change the stock row's (whose
    // first version came with an event too), a confirmation happens once per confirmed order.
    const priceChanges = await count('catalog', 'SELECT coalesce(sum("version" - 1), 0) AS n FROM "Product"');
    const stockChanges = await count('inventory', 'SELECT coalesce(sum("version"), 0) AS n FROM "StockItem"');
    const confirmations = await count('orders', `SELECT count(*) AS n FROM "Order" WHERE "status" IN ('CONFIRMED', 'CANCELLED')`);
    const registrations = await count('accounts', 'SELECT count(*) AS n FROM "User"');
    expect(priceChanges).toBeGreaterThan(10);
    for (const consumer of ['orders', 'reviews', 'inventory']) expect(await inboxOf(consumer, 'ProductPriceChanged'), `${consumer}: ProductPriceChanged`).toBe(priceChanges);
    expect(await inboxOf('catalog', 'StockChanged'), 'catalog: StockChanged').toBe(stockChanges);
    expect(await inboxOf('reviews', 'OrderConfirmed'), 'reviews: OrderConfirmed').toBe(confirmations);
    expect(await inboxOf('orders', 'UserRegistered'), 'orders: UserRegistered').toBe(registrations);
  }, 900_000);
});
