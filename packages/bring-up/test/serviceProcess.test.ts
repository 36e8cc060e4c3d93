/**
 * A service's process as it runs in production (compiled, `runService`), with its database, the
 * broker and Redis reached through links the test can cut: /ready names what it cannot reach and
 * recovers by itself, a process started without its database waits for it (alive, not ready), a
 * bad configuration stops it at once naming the variable, and SIGTERM drains it: not ready at
 * once, the request in flight finishes, no new connection is taken, exit 0; a second signal ends
 * it at once. The gateway's process likewise, over a subgraph stand-in whose /ready it follows.
 */
import { randomBytes } from 'node:crypto';
import { createServer as createHttpServer } from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { applyMigrations, dropDatabase, ensureDatabase, withDatabase } from '@mercado/db';
import { deleteTopology } from '@mercado/event-bus';
import { deleteSagaKeys } from '@mercado/saga';
import { developmentInternalTokenSecret } from '@mercado/service-kit';
import { gatewayHeaders, testInternalSecret } from '@mercado/service-kit/testing';
import { services } from '@mercado/system';
import { loadService, spawnDeployable, untilReady, type DeployableProcess } from '../src/index.ts';
import { cuttableLink, type CuttableLink } from './tcpProxy.ts';

const postgresUrl = process.env.POSTGRES_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
const amqpUrl = process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = `lifecycle${randomBytes(4).toString('hex')}`;
const databaseUrl = withDatabase(postgresUrl, `${prefix}_inventory`);
const productId = '0b8d6a3e-5f40-4a7c-9d2e-1f3a5b7c9d01';

let links: { database: CuttableLink; broker: CuttableLink; redis: CuttableLink };
let admin: pg.Pool;
const running: DeployableProcess[] = [];

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** inventory (database, broker and Redis: all three dependencies) in a process of its own. */
async function startInventory(env: Record<string, string | undefined> = {}): Promise<DeployableProcess> {
  const ports = { port: await freePort(), metricsPort: await freePort() };
  const proc = spawnDeployable({
    name: 'inventory',
    ports,
    host: '127.0.0.1',
    env: {
      PORT: String(ports.port),
      METRICS_PORT: String(ports.metricsPort),
      DATABASE_URL: links.database.url,
      AMQP_URL: links.broker.url,
      REDIS_URL: links.redis.url,
      EVENTS_PREFIX: prefix,
      SAGA_PREFIX: prefix,
      INTERNAL_TOKEN_SECRET: testInternalSecret,
      LOG_LEVEL: 'info',
      ...(env as Record<string, string>),
    },
  });
  running.push(proc);
  return proc;
}

const readiness = async (proc: DeployableProcess) => {
  const res = await fetch(proc.readyUrl);
  return { status: res.status, body: (await res.json()) as { status: string; down?: string[]; checks: Record<string, string> } };
};

/** Polls until `check` holds (the state of a process changes when it notices, not at once). */
async function until<T>(what: string, read: () => Promise<T>, check: (value: T) => boolean, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  for (;;) {
    try {
      last = await read();
      if (check(last)) return last;
    } catch (error) {
      last = (error as Error).message as T;
    }
    if (Date.now() > deadline) throw new Error(`${what}: still ${JSON.stringify(last)} after ${timeoutMs / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const restock = async (proc: DeployableProcess, quantity: number) => {
  const res = await fetch(proc.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(await gatewayHeaders({ id: randomBytes(16).toString('hex').replace(/^(.{8})(.{4})(.{4})(.{4})(.{12})$/, '$1-$2-$3-$4-$5'), role: 'admin' })) },
    body: JSON.stringify({ query: 'mutation($id: ID!, $q: Int!) { restock(productId: $id, quantity: $q) { available } }', variables: { id: productId, q: quantity } }),
  });
  return { status: res.status, body: (await res.json()) as { data?: { restock: { available: number } }; errors?: unknown[] } };
};

/** Holds the product's stock row in an open transaction: a restock waits for it. */
async function holdStockRow(): Promise<{ release(): Promise<void> }> {
  const client = await admin.connect();
  await client.query('BEGIN');
  await client.query('SELECT 1 FROM "StockItem" WHERE "productId" = $1 FOR UPDATE', [productId]);
  return {
    async release() {
      await client.query('ROLLBACK');
      client.release();
    },
  };
}

const waitingOnLocks = async () =>
  Number((await admin.query(`SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND wait_event_type = 'Lock'`, [`${prefix}_inventory`])).rows[0].count);

beforeAll(async () => {
  const inventory = await loadService('inventory');
  await ensureDatabase(databaseUrl);
  await applyMigrations(databaseUrl, inventory.migrationsDir);
  admin = new pg.Pool({ connectionString: databaseUrl, max: 3 });
  // A product inventory knows of (as if the catalog had announced it) with some stock.
  await admin.query('INSERT INTO "ProductReplica" ("id", "version", "updatedAt") VALUES ($1, 1, now())', [productId]);
  await admin.query('INSERT INTO "StockItem" ("productId", "available", "reserved", "updatedAt") VALUES ($1, 10, 0, now())', [productId]);
  links = {
    database: await cuttableLink(databaseUrl, 5432),
    broker: await cuttableLink(amqpUrl, 5672),
    redis: await cuttableLink(redisUrl, 6379),
  };
});

afterEach(async () => {
  for (const link of Object.values(links)) link.restore();
  await Promise.all(running.splice(0).map((p) => p.kill()));
});

afterAll(async () => {
  await Promise.all(Object.values(links ?? {}).map((link) => link.close()));
  await admin?.end();
  await dropDatabase(databaseUrl);
  await deleteTopology(amqpUrl, prefix, ['inventory']).catch(() => {});
  await deleteSagaKeys(redisUrl, prefix);
});

describe('a service process', () => {
  it('says on /ready which dependency it cannot reach, stays alive, and is ready again once it is back', async () => {
    const proc = await startInventory();
    await untilReady(proc);
    const ready = await until('ready', () => readiness(proc), (r) => r.status === 200);
    expect(ready.body).toEqual({ status: 'ready', checks: { database: 'up', broker: 'up', redis: 'up' } });
    for (const name of ['redis', 'broker', 'database'] as const) {
      links[name].cut();
      const down = await until(`${name} cut`, () => readiness(proc), (r) => r.status === 503 && Boolean(r.body.down?.includes(name)));
      expect(down.body.status).toBe('unavailable');
      // Names, never addresses.
      expect(JSON.stringify(down.body)).not.toMatch(/127\.0\.0\.1|:\d{4}/);
      expect((await fetch(`${proc.managementUrl}/health`)).status).toBe(200);
      links[name].restore();
      await until(`${name} restored`, () => readiness(proc), (r) => r.status === 200);
    }
    expect(proc.child.exitCode).toBeNull();
  }, 180_000);

  it('started without its database, is alive and not ready, and becomes ready when the database answers', async () => {
    links.database.cut();
    const proc = await startInventory();
    const waiting = await until('management port up', () => readiness(proc), (r) => r.status === 503);
    expect(waiting.body.down).toContain('database');
    expect((await fetch(`${proc.managementUrl}/health`)).status).toBe(200);
    await expect(fetch(proc.url, { method: 'POST' })).rejects.toThrow(); // no GraphQL before its database
    links.database.restore();
    await untilReady(proc);
    expect((await restock(proc, 1)).status).toBe(200);
  }, 120_000);

  it('refuses to start without its database URL, or in production with the public secret, naming the variable', async () => {
    const withoutDatabase = await startInventory({ DATABASE_URL: undefined });
    expect(await withoutDatabase.exited).toEqual({ code: 1, signal: null });
    expect(withoutDatabase.output()).toMatch(/DATABASE_URL: required: the inventory service's own PostgreSQL database/);
    const publicSecret = await startInventory({ NODE_ENV: 'production', INTERNAL_TOKEN_SECRET: developmentInternalTokenSecret });
    expect(await publicSecret.exited).toEqual({ code: 1, signal: null });
    expect(publicSecret.output()).toMatch(/INTERNAL_TOKEN_SECRET is the old development default/);
  }, 60_000);

  it('on SIGTERM turns not ready, finishes the request in flight, takes no new connection, and exits 0', async () => {
    const proc = await startInventory();
    await untilReady(proc);
    const before = (await restock(proc, 1)).body.data!.restock.available;
    const row = await holdStockRow();
    let inFlight: ReturnType<typeof restock> | undefined;
    try {
      inFlight = restock(proc, 5);
      await until('restock waiting on the row', waitingOnLocks, (n) => n >= 1);
      proc.child.kill('SIGTERM');
      const draining = await until('draining', () => readiness(proc), (r) => r.status === 503);
      expect(draining.body.status).toBe('draining');
      await until('listener closed', () => fetch(proc.url, { method: 'POST' }).then(() => 'accepted', () => 'refused'), (r) => r === 'refused');
    } finally {
      await row.release();
    }
    expect(await inFlight).toEqual({ status: 200, body: { data: { restock: { available: before + 5 } } } });
    expect(await proc.exited).toEqual({ code: 0, signal: null });
  }, 120_000);

  it('exits at once on a second signal, with work still in hand', async () => {
    const proc = await startInventory();
    await untilReady(proc);
    const row = await holdStockRow();
    try {
      const inFlight = restock(proc, 1).catch(() => 'cut off');
      await until('restock waiting on the row', waitingOnLocks, (n) => n >= 1);
      proc.child.kill('SIGTERM');
      await until('draining', () => readiness(proc), (r) => r.body.status === 'draining');
      proc.child.kill('SIGTERM');
      expect(await proc.exited).toEqual({ code: 1, signal: null });
      expect(await inFlight).toBe('cut off');
    } finally {
      await row.release();
    }
  }, 120_000);
});

describe('the gateway process', () => {
  /** A subgraph stand-in: ready, and it answers `{ categories }` once `release` is called. */
  async function slowCatalog() {
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let arrive!: () => void;
    const arrived = new Promise<void>((resolve) => (arrive = resolve));
    let ready = true;
    const server = createHttpServer((req, res) => {
      if (req.url === '/ready') return void res.writeHead(ready ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify({ status: ready ? 'ready' : 'unavailable', checks: {} }));
      arrive();
      req.resume();
      req.on('end', () => void released.then(() => res.writeHead(200, { 'content-type': 'application/json' }).end('{"data":{"categories":["slow"]}}')));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`;
    return { url, arrived, release, setReady: (value: boolean) => (ready = value), close: () => new Promise((resolve) => server.close(resolve)) };
  }

  async function startGateway(subgraphUrl: string): Promise<DeployableProcess> {
    const ports = { port: await freePort(), metricsPort: await freePort() };
    const proc = spawnDeployable({
      name: 'gateway',
      ports,
      host: '127.0.0.1',
      env: {
        PORT: String(ports.port),
        METRICS_PORT: String(ports.metricsPort),
        INTERNAL_TOKEN_SECRET: testInternalSecret,
        REDIS_URL: redisUrl,
        RATE_LIMIT_PREFIX: `${prefix}:rate`,
        ADMIN_DASHBOARD: 'off',
        LOG_LEVEL: 'info',
        // Every subgraph is the stand-in: the gateway's readiness asks each one.
        ...Object.fromEntries(services.map(({ name }) => [`SUBGRAPH_${name.toUpperCase()}_URL`, subgraphUrl])),
      },
    });
    running.push(proc);
    return proc;
  }

  it("is ready only while its subgraphs' /ready say so, and drains on SIGTERM: not ready, the operation in flight answered, exit 0", async () => {
    const catalog = await slowCatalog();
    try {
      const proc = await startGateway(catalog.url);
      await untilReady(proc);
      const management = `${proc.managementUrl}/ready`;
      expect((await fetch(management)).status).toBe(200);
      catalog.setReady(false);
      const unready = await until('not ready while the subgraphs are not', () => fetch(management).then(async (r) => ({ status: r.status, body: (await r.json()) as { down?: string[] } })), (r) => r.status === 503);
      expect(unready.body.down).toEqual(expect.arrayContaining(services.map((s) => s.name)));
      catalog.setReady(true);
      await until('ready again', () => fetch(management).then((r) => r.status), (status) => status === 200);

      const inFlight = fetch(proc.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ categories }' }) }).then(async (r) => ({ status: r.status, body: await r.json() }));
      await catalog.arrived;
      proc.child.kill('SIGTERM');
      const draining = await until('draining', () => fetch(management).then(async (r) => ({ status: r.status, body: (await r.json()) as { status: string } })), (r) => r.status === 503);
      expect(draining.body.status).toBe('draining');
      catalog.release();
      expect(await inFlight).toEqual({ status: 200, body: { data: { categories: ['slow'] } } });
      expect(await proc.exited).toEqual({ code: 0, signal: null });
    } finally {
      catalog.release();
      await catalog.close();
    }
  }, 120_000);
});
