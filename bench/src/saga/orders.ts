/**
 * Orders placed through the real gateway of an in-process stack, by customers with plenty of
 * credit, on well-stocked products, and the wait for each order's saga to finish. Completion
 * is read from the orders database (the orchestrator's own timestamps, taken with this
 * process's clock), not by polling the gateway, so that watching costs the gateway nothing.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import pg from 'pg';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { seedProducts, seedUsers } from '@mercado/dev-seed';
import { commandQueue, replyQueue } from '@mercado/saga';
import { postGraphQL } from '@mercado/service-kit/testing';
import type { InProcessStack } from '@mercado/e2e';
import { sleep } from '../events/measure.ts';

type Auth = Record<string, string>;

async function call<T = any>(stack: InProcessStack, query: string, variables: Record<string, unknown>, auth: Auth = {}): Promise<T> {
  const { status, body } = await postGraphQL<any>(stack.gateway.url, query, variables, auth);
  if (body.errors || !body.data) throw new Error(`HTTP ${status}: ${JSON.stringify(body.errors)}`);
  return body.data as T;
}

async function signIn(stack: InProcessStack, email: string, password: string): Promise<Auth> {
  const data = await call(stack, 'mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token } }', { e: email, p: password });
  return { authorization: `Bearer ${data.login.token}` };
}

/** Orders price new orders from their replica of the catalog: wait until it has every product. */
export async function waitForProductReplica(stack: InProcessStack, timeoutMs = 60_000): Promise<void> {
  const orders = new pg.Pool({ connectionString: stack.databaseUrls.orders, max: 1 });
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
 * what the run can sell: every saga can succeed.
 */
export async function prepareCustomersAndStock(stack: InProcessStack, customers: number, products: number) {
  const admin = seedUsers.find((u) => u.role === 'admin')!;
  const adminAuth = await signIn(stack, admin.email, admin.password);
  const productIds = seedProducts.slice(0, products).map((p) => p.id);
  for (const productId of productIds) {
    await call(stack, 'mutation($id: ID!, $q: Int!) { restock(productId: $id, quantity: $q) { available } }', { id: productId, q: 100_000 }, adminAuth);
  }
  const run = randomBytes(4).toString('hex');
  const auths: Auth[] = [];
  for (let i = 0; i < customers; i++) {
    const data = await call(stack, 'mutation($input: RegisterInput!) { register(input: $input) { token user { id } } }', {
      input: { email: `bench-${run}-${i}@example.com`, name: `Bench Customer ${i}`, password: `bench-password-${run}` },
    });
    await call(
      stack,
      'mutation($id: ID!, $limit: Int!) { setCreditLimit(customerId: $id, creditLimitCents: $limit) { availableCents } }',
      { id: data.register.user.id, limit: 1_000_000_000 },
      adminAuth,
    );
    auths.push({ authorization: `Bearer ${data.register.token}` });
  }
  return { customers: auths, productIds };
}

export interface SagaOutcome {
  state: string;
  failureReason: string | null;
  /** Epoch ms the confirmOrder step finished (the order became CONFIRMED); null if it never did. */
  confirmedAt: number | null;
  /** Epoch ms the saga reached its final state. */
  finishedAt: number;
}

/** Resolves each order's saga once it has finished, with one query per poll for all of them. */
export class SagaWatcher {
  private readonly pool: pg.Pool;
  private readonly waiting = new Map<string, { resolve: (outcome: SagaOutcome) => void; reject: (err: Error) => void }>();
  private running = true;
  private readonly loop: Promise<void>;

  constructor(ordersDatabaseUrl: string, private readonly pollMs = 20) {
    this.pool = new pg.Pool({ connectionString: ordersDatabaseUrl, max: 1 });
    this.loop = this.run();
  }

  finished(orderId: string): Promise<SagaOutcome> {
    return new Promise((resolve, reject) => this.waiting.set(orderId, { resolve, reject }));
  }

  private async run(): Promise<void> {
    while (this.running) {
      try {
        await this.poll();
      } catch (err) {
        // Nobody would ever be told: fail every wait instead.
        for (const { reject } of this.waiting.values()) reject(err as Error);
        this.waiting.clear();
      }
      await sleep(this.pollMs);
    }
  }

  private async poll(): Promise<void> {
    if (this.waiting.size === 0) return;
    // Prisma stores UTC in "timestamp without time zone"; the epoch of such a value reads it as UTC.
    const { rows } = await this.pool.query<{ orderId: string; state: string; failureReason: string | null; confirmedAt: number | null; finishedAt: number }>(
      `SELECT s."orderId", s."state", s."failureReason",
              (extract(epoch FROM c."finishedAt") * 1000)::float8 AS "confirmedAt",
              (extract(epoch FROM s."updatedAt") * 1000)::float8 AS "finishedAt"
         FROM "Saga" s
         LEFT JOIN "SagaStep" c ON c."sagaId" = s."id" AND c."name" = 'confirmOrder' AND c."status" = 'SUCCEEDED'
        WHERE s."orderId" = ANY($1::uuid[]) AND s."type" = 'placeOrder' AND s."state" NOT IN ('RUNNING', 'COMPENSATING')`,
      [[...this.waiting.keys()]],
    );
    for (const { orderId, ...outcome } of rows) {
      this.waiting.get(orderId)?.resolve(outcome);
      this.waiting.delete(orderId);
    }
  }

  get pending(): number {
    return this.waiting.size;
  }

  async close(): Promise<void> {
    this.running = false;
    await this.loop.catch(() => {});
    await this.pool.end();
  }
}

export interface PlacedSaga extends SagaOutcome {
  /** Epoch ms just before placeOrder was sent. */
  placedAt: number;
  /** ms the placeOrder request itself took. */
  requestMs: number;
}

/** Places one order of one or two products and waits for its saga. */
export async function placeAndWait(stack: InProcessStack, watcher: SagaWatcher, auth: Auth, productIds: string[]): Promise<PlacedSaga> {
  const pick = () => productIds[Math.floor(Math.random() * productIds.length)]!;
  const first = pick();
  const second = pick();
  const lines = first === second ? [{ productId: first, quantity: 2 }] : [{ productId: first, quantity: 1 }, { productId: second, quantity: 1 }];
  const placedAt = Date.now();
  const data = await call(stack, 'mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { id status } }', { input: { lines, idempotencyKey: `bench-${randomUUID()}` } }, auth);
  const requestMs = Date.now() - placedAt;
  return { placedAt, requestMs, ...(await watcher.finished(data.placeOrder.id)) };
}

/** Jobs the stack's saga queues have completed (and deadlines still waiting), from BullMQ's own counts. */
export async function sagaJobCounts(redisUrl: string, prefix: string) {
  const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
  const count = async (name: string) => {
    const queue = new Queue(name, { connection, prefix });
    try {
      return await queue.getJobCounts('completed', 'failed', 'delayed', 'active', 'waiting');
    } finally {
      await queue.close();
    }
  };
  try {
    const inventory = await count(commandQueue('inventory'));
    const payments = await count(commandQueue('payments'));
    const replies = await count(replyQueue('orders'));
    return {
      commands: (inventory.completed ?? 0) + (payments.completed ?? 0),
      repliesAndDeadlines: replies.completed ?? 0,
      deadlinesDelayed: replies.delayed ?? 0,
      failed: (inventory.failed ?? 0) + (payments.failed ?? 0) + (replies.failed ?? 0),
    };
  } finally {
    connection.disconnect();
  }
}
