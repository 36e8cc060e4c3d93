/**
 * Orders placed through the gateway of a running system, by customers with plenty of credit, on
 * well-stocked products, and how a client learns that an order is CONFIRMED: told by the event
 * (orders.OrderConfirmed on the broker, as a subscription through the gateway would be told), it
 * sends one query for the order through the gateway; the moment that answer says CONFIRMED is
 * when the client knows. Nothing polls.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import pg from 'pg';
import { Redis } from 'ioredis';
import amqp from 'amqplib';
import { seedProducts, seedUsers } from '@mercado/dev-seed';
import { topologyNames } from '@mercado/event-bus';
import { commandQueue, replyQueue } from '@mercado/saga';
import { postGraphQL } from '@mercado/service-kit/testing';
import { sleep } from '../events/measure.ts';

export type Auth = Record<string, string>;

export async function call<T = any>(gatewayUrl: string, query: string, variables: Record<string, unknown>, auth: Auth = {}): Promise<T> {
  const { status, body } = await postGraphQL<any>(gatewayUrl, query, variables, auth);
  if (body.errors || !body.data) throw new Error(`HTTP ${status}: ${JSON.stringify(body.errors)}`);
  return body.data as T;
}

async function signIn(gatewayUrl: string, email: string, password: string): Promise<Auth> {
  const data = await call(gatewayUrl, 'mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token } }', { e: email, p: password });
  return { authorization: `Bearer ${data.login.token}` };
}

/** Orders price new orders from their replica of the catalog: wait until it has every product. */
export async function waitForProductReplica(ordersDatabaseUrl: string, timeoutMs = 120_000): Promise<void> {
  const orders = new pg.Pool({ connectionString: ordersDatabaseUrl, max: 1 });
  try {
    const deadline = Date.now() + timeoutMs;
    while (Number((await orders.query('SELECT count(*) AS n FROM "ProductReplica"')).rows[0].n) < seedProducts.length) {
      if (Date.now() > deadline) throw new Error('orders did not receive the catalog in time');
      await sleep(100);
    }
  } finally {
    await orders.end();
  }
}

/**
 * Customers of their own (each with its own credit account, so that they do not queue on one
 * account's row lock), each allowed to spend 10 million, and products restocked far beyond
 * what the run can sell: every saga can succeed. The fault run passes less of both (`units` per
 * product, `creditCents` per customer) so that some sagas compensate.
 */
export async function prepareCustomersAndStock(
  gatewayUrl: string,
  customers: number,
  products: number,
  scarcity: { units?: number; creditCents?: (customer: number) => number } = {},
) {
  const admin = seedUsers.find((u) => u.role === 'admin')!;
  const adminAuth = await signIn(gatewayUrl, admin.email, admin.password);
  const productIds = seedProducts.slice(0, products).map((p) => p.id);
  for (const productId of productIds) {
    await call(gatewayUrl, 'mutation($id: ID!, $q: Int!) { restock(productId: $id, quantity: $q) { available } }', { id: productId, q: scarcity.units ?? 100_000 }, adminAuth);
  }
  const run = randomBytes(4).toString('hex');
  const auths: Auth[] = [];
  for (let i = 0; i < customers; i++) {
    const data = await call(gatewayUrl, 'mutation($input: RegisterInput!) { register(input: $input) { token user { id } } }', {
      input: { email: `bench-${run}-${i}@example.com`, name: `Bench Customer ${i}`, password: `bench-password-${run}` },
    });
    await call(
      gatewayUrl,
      'mutation($id: ID!, $limit: Int!) { setCreditLimit(customerId: $id, creditLimitCents: $limit) { availableCents } }',
      { id: data.register.user.id, limit: scarcity.creditCents?.(i) ?? 1_000_000_000 },
      adminAuth,
    );
    auths.push({ authorization: `Bearer ${data.register.token}` });
  }
  return { customers: auths, productIds };
}

/**
 * Tells who waits on an order when the broker says it was confirmed: a queue of the bench's own
 * (exclusive, not durable) bound to orders.OrderConfirmed on the stack's events exchange, as a
 * gateway's live subscriptions would be. An event that beats its waiter is kept for it.
 */
export class ConfirmationListener {
  private connection?: amqp.ChannelModel;
  private readonly waiting = new Map<string, () => void>();
  private readonly early = new Set<string>();

  constructor(
    private readonly amqpUrl: string,
    private readonly stackName: string,
  ) {}

  async start(): Promise<void> {
    this.connection = await amqp.connect(this.amqpUrl);
    const channel = await this.connection.createChannel();
    const { exchange } = topologyNames(this.stackName);
    const { queue } = await channel.assertQueue('', { exclusive: true, durable: false, autoDelete: true });
    await channel.bindQueue(queue, exchange, 'orders.OrderConfirmed');
    await channel.consume(
      queue,
      (msg) => {
        if (!msg) return;
        const { aggregateId } = JSON.parse(msg.content.toString('utf8')) as { aggregateId: string };
        const wake = this.waiting.get(aggregateId);
        if (wake) {
          this.waiting.delete(aggregateId);
          wake();
        } else this.early.add(aggregateId);
      },
      { noAck: true },
    );
  }

  /** Resolves once orders.OrderConfirmed about `orderId` has arrived (or fails after `timeoutMs`). */
  confirmation(orderId: string, timeoutMs = 60_000): Promise<void> {
    if (this.early.delete(orderId)) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(orderId);
        reject(new Error(`no OrderConfirmed for ${orderId} in ${timeoutMs / 1000} s`));
      }, timeoutMs);
      this.waiting.set(orderId, () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  get pending(): number {
    return this.waiting.size;
  }

  async close(): Promise<void> {
    await this.connection?.close().catch(() => {});
  }
}

export interface PlacedOrder {
  orderId: string;
  /** Epoch ms just before placeOrder was sent. */
  placedAt: number;
  /** Epoch ms its reply arrived. */
  repliedAt: number;
  /** Epoch ms the client's one query after the event answered CONFIRMED. */
  confirmedSeenAt: number;
}

/** An order's lines: two units of one product or one each of two, picked at random. */
export function randomLines(productIds: readonly string[]): Array<{ productId: string; quantity: number }> {
  const pick = () => productIds[Math.floor(Math.random() * productIds.length)]!;
  const [first, second] = [pick(), pick()];
  return first === second ? [{ productId: first, quantity: 2 }] : [{ productId: first, quantity: 1 }, { productId: second, quantity: 1 }];
}

/**
 * Places one order of one or two products, waits to be told it is confirmed, then asks once,
 * as a client would, and checks the answer.
 */
export async function placeAndLearn(gatewayUrl: string, listener: ConfirmationListener, auth: Auth, productIds: string[]): Promise<PlacedOrder> {
  const placedAt = Date.now();
  const data = await call(gatewayUrl, 'mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { id status } }', { input: { lines: randomLines(productIds), idempotencyKey: `bench-${randomUUID()}` } }, auth);
  const repliedAt = Date.now();
  const orderId = data.placeOrder.id as string;
  await listener.confirmation(orderId);
  const seen = await call(gatewayUrl, 'query($id: ID!) { order(id: $id) { status } }', { id: orderId }, auth);
  if (seen.order?.status !== 'CONFIRMED') throw new Error(`order ${orderId} was announced confirmed but reads ${seen.order?.status}`);
  return { orderId, placedAt, repliedAt, confirmedSeenAt: Date.now() };
}

/**
 * Jobs sent to the stack's saga queues so far: BullMQ counts every add in the queue's `id` key
 * (a duplicate send too, which a run without crashes hardly makes). Not the completed counts:
 * each queue keeps only its newest finished jobs (SagaBusConfig.keepJobs).
 */
export async function sagaJobCounts(redisUrl: string, prefix: string) {
  const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
  const sent = async (queue: string) => Number((await connection.get(`${prefix}:${queue}:id`)) ?? 0);
  try {
    return {
      commands: (await sent(commandQueue('inventory'))) + (await sent(commandQueue('payments'))),
      repliesAndDeadlines: await sent(replyQueue('orders')),
    };
  } finally {
    connection.disconnect();
  }
}

/** The stack's placeOrder sagas by state, read from orders' database. */
export async function sagaStates(ordersDatabaseUrl: string): Promise<Record<string, number>> {
  const client = new pg.Client({ connectionString: ordersDatabaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ state: string; n: string }>(`SELECT "state"::text AS state, count(*) AS n FROM "Saga" WHERE "type" = 'placeOrder' GROUP BY 1`);
    return Object.fromEntries(rows.map((r) => [r.state, Number(r.n)]));
  } finally {
    await client.end();
  }
}
