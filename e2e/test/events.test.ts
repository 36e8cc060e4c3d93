import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedId } from '@mercado/dev-seed';
import { closeBrokerConnections } from '@mercado/event-bus/testing';
import { postGraphQL } from '@mercado/service-kit/testing';
import { startInProcessStack, type InProcessStack } from '../src/index.ts';
import { rebuildReadModel, verifyReadModel } from '@mercado/event-bus';
import { signIn } from './helpers.ts';

/**
 * Replication through the real broker: each service's outbox relay and consumer run against
 * RabbitMQ under a unique prefix; read models are compared with their sources in the databases.
 */
let stack: InProcessStack;
let admin: Record<string, string>;
const pools: Record<string, pg.Pool> = {};
const query = async (service: string, sql: string, params: unknown[] = []) => (await pools[service]!.query(sql, params)).rows;

async function eventually<T>(read: () => Promise<T>, expected: T, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  while (Date.now() < deadline) {
    last = await read();
    try {
      expect(last).toEqual(expected);
      return;
    } catch {}
    await new Promise((r) => setTimeout(r, 50));
  }
  expect(last).toEqual(expected);
}

const catalogProducts = () => query('catalog', 'SELECT id, sku, name, "priceCents", currency, version FROM "Product" ORDER BY id');
const ordersProducts = () => query('orders', 'SELECT id, sku, name, "priceCents", currency, version FROM "ProductReplica" ORDER BY id');
const accountsUsers = () => query('accounts', 'SELECT id, name, email, version FROM "User" ORDER BY id');
const ordersCustomers = () => query('orders', 'SELECT id, name, email, version FROM "CustomerReplica" ORDER BY id');

beforeAll(async () => {
  stack = await startInProcessStack();
  for (const [name, url] of Object.entries(stack.databaseUrls)) pools[name] = new pg.Pool({ connectionString: url, max: 2 });
  admin = await signIn(stack, 'admin@mercado.dev', 'admin-password');
});
afterAll(async () => {
  for (const pool of Object.values(pools)) await pool.end();
  await stack?.close();
});

describe('integration events between the services', () => {
  it("replicates the seed: orders' products and customers equal their sources", async () => {
    await eventually(ordersProducts, await catalogProducts());
    await eventually(ordersCustomers, await accountsUsers());
  });

  it('carries a price change made through the gateway to the orders read model', async () => {
    const id = seedId('product:COF-003');
    const { body } = await postGraphQL(stack.gateway.url, `mutation { updateProductPrice(id: "${id}", priceCents: 4321) { priceCents } }`, {}, admin);
    expect(body.errors).toBeUndefined();
    await eventually(async () => (await query('orders', 'SELECT "priceCents", version FROM "ProductReplica" WHERE id = $1', [id]))[0], { priceCents: 4321, version: 2 });
  });

  it('prices an order placed right after a price change at the new price', async () => {
    const id = seedId('product:KIT-002');
    await postGraphQL(stack.gateway.url, `mutation { updateProductPrice(id: "${id}", priceCents: 2222) { priceCents } }`, {}, admin);
    await eventually(async () => (await query('orders', 'SELECT "priceCents" FROM "ProductReplica" WHERE id = $1', [id]))[0]?.priceCents, 2222);
    const alice = await signIn(stack, 'alice@mercado.dev', 'alice-password');
    const { body } = await postGraphQL(
      stack.gateway.url,
      `mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { totalCents lines { unitPriceCents quantity } } }`,
      { input: { lines: [{ productId: id, quantity: 2 }], idempotencyKey: 'price-change-order' } },
      alice,
    );
    expect(body.data!.placeOrder).toEqual({ totalCents: 4444, lines: [{ unitPriceCents: 2222, quantity: 2 }] });
  });

  it('answers Product.inStock from inventory stock events after a restock', async () => {
    const soldOut = (await query('inventory', 'SELECT "productId" FROM "StockItem" WHERE available = 0 LIMIT 1'))[0].productId as string;
    const inStock = async () => (await postGraphQL(stack.gateway.url, `{ product(id: "${soldOut}") { inStock stock { available } } }`)).body.data;
    await eventually(inStock, { product: { inStock: false, stock: { available: 0 } } });
    await postGraphQL(stack.gateway.url, `mutation { restock(productId: "${soldOut}", quantity: 3) { available } }`, {}, admin);
    await eventually(inStock, { product: { inStock: true, stock: { available: 3 } } });
  });

  it('marks reviews by buyers as verified purchases from OrderConfirmed events', async () => {
    // Alice's seeded orders include BOO-001; her review of it, if any, becomes verified.
    const bought = seedId('product:BOO-001');
    await eventually(async () => (await query('reviews', 'SELECT 1 FROM "Purchase" WHERE "customerId" = $1 AND "productId" = $2', [seedId('user:alice'), bought])).length, 1);
    const { body } = await postGraphQL(stack.gateway.url, `{ product(id: "${bought}") { reviews(first: 5) { verifiedPurchase author { name } } } }`);
    const reviews = body.data!.product.reviews as Array<{ verifiedPurchase: boolean; author: { name: string } }>;
    expect(reviews.length).toBeGreaterThan(0);
    for (const r of reviews) expect(r.verifiedPurchase).toBe(r.author.name === 'Alice Customer');
  });

  it('keeps the read models equal to their sources when every service loses its broker connection under load', async () => {
    const products = await catalogProducts();
    const stocked = (await query('inventory', 'SELECT "productId" FROM "StockItem" ORDER BY "productId"')).map((r) => r.productId as string);
    let done = 0;
    const failures: unknown[] = [];
    // 300 changes through the gateway, price changes (catalog -> orders) and restocks (inventory -> catalog) in turn.
    const load = (async () => {
      for (let n = 0; n < 300; n++) {
        const mutation =
          n % 3 === 2
            ? `mutation { restock(productId: "${stocked[n % stocked.length]}", quantity: 1) { available } }`
            : `mutation { updateProductPrice(id: "${products[n % products.length]!.id}", priceCents: ${1000 + n}) { priceCents } }`;
        const { body } = await postGraphQL(stack.gateway.url, mutation, {}, admin);
        if (body.errors) failures.push(body.errors);
        done++;
      }
    })();
    await eventually(async () => done >= 100, true);
    const closed = await closeBrokerConnections(`${stack.eventsPrefix}-`);
    expect(closed).toBeGreaterThanOrEqual(4); // accounts, catalog, inventory, orders, reviews: each its own connection
    await load;
    expect(failures).toEqual([]);

    const byName = stack.services;
    const dbs = Object.fromEntries(Object.values(byName).map((s) => [s.name, s.createDb(stack.databaseUrls[s.name]!)]));
    try {
      for (const consumer of ['orders', 'catalog', 'reviews', 'inventory']) {
        await eventually(async () => (await verifyReadModel({ consumer: byName[consumer]!, services: byName, dbs })).equal, true);
      }
    } finally {
      for (const db of Object.values(dbs)) await db.$disconnect();
    }
    const prices = (await catalogProducts()).map((p) => p.priceCents as number);
    expect(Math.max(...prices)).toBe(1000 + 298); // the last price change (n = 298) is in the source, and so in the replica
  }, 600_000);

  it('verifies read models against their sources, names what differs, and rebuilds orders to equal them', async () => {
    await eventually(ordersProducts, await catalogProducts());
    const byName = stack.services;
    const dbs = Object.fromEntries(Object.values(byName).map((s) => [s.name, s.createDb(stack.databaseUrls[s.name]!)]));
    const verify = (consumer: string) => verifyReadModel({ consumer: byName[consumer]!, services: byName, dbs });
    try {
      const products = (await catalogProducts()).map((p) => `catalog:${p.id}`);
      const users = (await accountsUsers()).map((u) => `accounts:${u.id}`);
      expect(await verify('orders')).toEqual({ consumer: 'orders', compared: products.length + users.length, missing: [], behind: [], different: [], extra: [], equal: true });
      await eventually(async () => (await verify('catalog')).equal, true);
      await eventually(async () => (await verify('reviews')).equal, true);
      await eventually(async () => (await verify('inventory')).equal, true);

      await query('orders', 'UPDATE "ProductReplica" SET "priceCents" = 1, name = \'corrupted\'');
      const [late] = await query('orders', 'UPDATE "ProductReplica" SET version = version - 1 WHERE id = (SELECT id FROM "ProductReplica" ORDER BY id LIMIT 1) RETURNING id');
      const [bob] = await query('orders', 'DELETE FROM "CustomerReplica" WHERE email LIKE \'bob%\' RETURNING id');
      const [ghost] = await query('orders', `INSERT INTO "CustomerReplica" (id, name, email, version, "updatedAt") VALUES (gen_random_uuid(), 'Ghost', 'ghost@example.com', 1, now()) RETURNING id`);
      const report = await verify('orders');
      expect(report.equal).toBe(false);
      expect(report.behind).toEqual([`catalog:${late.id}`]);
      expect(report.different.sort()).toEqual(products.filter((key) => key !== `catalog:${late.id}`).sort());
      expect(report.missing).toEqual([`accounts:${bob.id}`]);
      expect(report.extra).toEqual([`accounts:${ghost.id}`]);

      const progress: string[] = [];
      const result = await rebuildReadModel({ consumer: byName.orders!, services: byName, dbs, onProgress: (line) => progress.push(line), timeoutMs: 20_000 });
      expect(result.complete).toBe(true);
      expect(progress.length).toBeGreaterThan(0);
      await eventually(async () => (await verify('orders')).equal, true);
    } finally {
      for (const db of Object.values(dbs)) await db.$disconnect();
    }
    expect(await ordersProducts()).toEqual(await catalogProducts());
    expect(await ordersCustomers()).toEqual(await accountsUsers());
  });

  it('measures replication lag and exposes it on /metrics', async () => {
    const lag = stack.events.orders!.consumer!.lag.percentiles();
    expect(lag!.count).toBeGreaterThan(0);
    const metrics = await (await fetch(stack.metricsUrl)).text();
    expect(metrics).toMatch(/mercado_event_replication_lag_seconds_count\{consumer="orders",type="ProductCreated"\} \d+/);
  });
});
