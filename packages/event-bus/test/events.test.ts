import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import amqplib from 'amqplib';
import type pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  appendToOutbox,
  connectToBroker,
  EventConsumer,
  listParked,
  newestPerAggregate,
  newEvent,
  OutboxRelay,
  parsePayload,
  pgSql,
  pgTransaction,
  redriveParked,
  startEventWorkers,
  type PgSql,
  type AmqpConnectionManager,
  type BatchEventHandler,
  type EventHandler,
  type Handler,
  type IntegrationEvent,
} from '../src/index.ts';
import { amqpUrl, brokerNamespace, closeBrokerConnections, createEventDatabases, silent, waitFor } from './harness.ts';

type Databases = Awaited<ReturnType<typeof createEventDatabases>>;

let dbs: Databases;
const ns = brokerNamespace(['replica', 'envelope', 'prefetch', 'workers']);
const connectionName = `${ns.prefix}-conn`;
const open: Array<{ stop(): Promise<void> } | AmqpConnectionManager> = [];

beforeAll(async () => {
  dbs = await createEventDatabases();
});
afterEach(async () => {
  for (const x of open.splice(0).reverse()) await ('stop' in x ? x.stop() : x.close());
});
afterAll(async () => {
  await dbs?.drop();
  await ns.cleanup();
});

/** The source side: change an item and record the event in the same transaction. */
async function updateItem(id: string, value: number): Promise<void> {
  const client = await dbs.producer.connect();
  try {
    await client.query('BEGIN');
    const { rows } = await client.query<{ version: number }>(
      `INSERT INTO "Item" (id, value, version) VALUES ($1, $2, 1)
       ON CONFLICT (id) DO UPDATE SET value = EXCLUDED.value, version = "Item".version + 1 RETURNING version`,
      [id, value],
    );
    await appendToOutbox(pgSql(client), newEvent('test', 'ItemChanged', id, rows[0]!.version, { value }));
    await client.query('COMMIT');
  } finally {
    client.release();
  }
}

let failFor = new Set<string>();
const itemValue = z.object({ value: z.number().int() });

/** The replica's handler, one event at a time; fails on purpose for the items in failFor. */
const applyItemChange: EventHandler<PgSql> = async (event, tx) => {
  const { value } = parsePayload(itemValue, event);
  if (failFor.has(event.aggregateId)) throw new Error(`cannot apply ${event.aggregateId} right now`);
  await tx.$executeRaw`
    INSERT INTO "ItemReplica" (id, value, version) VALUES (${event.aggregateId}, ${value}, ${event.version})
    ON CONFLICT (id) DO UPDATE SET value = EXCLUDED.value, version = EXCLUDED.version, applied = "ItemReplica".applied + 1
    WHERE "ItemReplica".version < EXCLUDED.version`;
};

/** A consumer on the test's namespace; the replica's by default. */
function startConsumer(connection: AmqpConnectionManager, handlers: Record<string, Handler<PgSql>> = { 'test.ItemChanged': applyItemChange }, consumer = 'replica') {
  return new EventConsumer<PgSql>({
    consumer,
    connection,
    names: ns.names,
    logger: silent,
    maxDeliveries: 3,
    transaction: pgTransaction(dbs.consumer),
    handlers,
  });
}

async function startPipeline() {
  const connection = connectToBroker(amqpUrl, silent, connectionName);
  open.push(connection);
  const consumer = startConsumer(connection);
  await consumer.start();
  open.push(consumer);
  const relay = new OutboxRelay({ databaseUrl: dbs.producerUrl, connection, names: ns.names, logger: silent, publishTimeoutMs: 30_000 });
  await relay.start();
  open.push(relay);
  return { consumer, relay };
}

const rows = async (pool: pg.Pool, sql: string) => (await pool.query(sql)).rows;
const sourceState = () => rows(dbs.producer, 'SELECT id, value, version FROM "Item" ORDER BY id');
const replicaState = () => rows(dbs.consumer, 'SELECT id, value, version FROM "ItemReplica" ORDER BY id');
const inboxCount = async () => Number((await rows(dbs.consumer, 'SELECT count(*) AS n FROM "InboxEvent"'))[0].n);
const outboxCount = async () => Number((await rows(dbs.producer, 'SELECT count(*) AS n FROM "OutboxEvent"'))[0].n);

async function publishRaw(...events: Array<IntegrationEvent | string>): Promise<void> {
  const connection = await amqplib.connect(amqpUrl);
  const ch = await connection.createConfirmChannel();
  for (const event of events) {
    ch.publish(ns.names.exchange, 'test.ItemChanged', Buffer.from(typeof event === 'string' ? event : JSON.stringify(event)), {
      persistent: true,
      messageId: typeof event === 'string' ? 'raw' : event.id,
    });
  }
  await ch.waitForConfirms();
  await connection.close();
}

describe('integration events', () => {
  it('replicates 1,000 updates with no loss while the broker connection is closed mid-stream', async () => {
    const { consumer } = await startPipeline();
    const items = Array.from({ length: 50 }, (_, i) => `item-${String(i).padStart(2, '0')}`);
    const writer = (async () => {
      for (let n = 0; n < 1000; n++) await updateItem(items[n % items.length]!, n);
    })();
    await waitFor(async () => consumer.appliedCount >= 200, 60_000, '200 events applied');
    const closed = await closeBrokerConnections(connectionName);
    expect(closed).toBeGreaterThan(0);
    await writer;
    await waitFor(async () => (await inboxCount()) === 1000, 120_000, 'all 1,000 events in the inbox');
    expect(await replicaState()).toEqual(await sourceState());
    await waitFor(async () => (await outboxCount()) === 0, 10_000, 'every event deleted from the outbox once confirmed');
  }, 180_000);

  it("logs a channel whose setup failed instead of throwing it where nobody catches it (the relay's and a consumer's)", async () => {
    const { consumer, relay } = await startPipeline();
    // What amqp-connection-manager emits when a new channel's setup or consumer fails because the
    // connection closed meanwhile; with no listener, the emit throws inside its connect handler.
    const failed = new Error('Channel ended, no reply will be forthcoming');
    for (const component of [consumer, relay]) {
      const wrapper = (component as unknown as { channel: { emit(event: 'error', err: Error): boolean } }).channel;
      expect(() => wrapper.emit('error', failed)).not.toThrow();
    }
  });

  it('holds a consumer to its prefetch on every channel, also after the broker connection was lost', async () => {
    const connection = connectToBroker(amqpUrl, silent, `${ns.prefix}-prefetch`);
    open.push(connection);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const blocked: EventHandler<PgSql> = async (event, tx) => {
      await gate; // the handler holds every delivery it has been given, unacknowledged
      await applyItemChange(event, tx);
    };
    const consumer = new EventConsumer<PgSql>({
      consumer: 'prefetch', // its own queue: nothing of the other tests waits in it
      connection,
      names: ns.names,
      logger: silent,
      prefetch: 3,
      transaction: pgTransaction(dbs.consumer),
      handlers: { 'test.ItemChanged': blocked },
    });
    await consumer.start();
    open.push(consumer);
    await publishRaw(...Array.from({ length: 10 }, (_, i) => newEvent('test', 'ItemChanged', `prefetched-${i}`, 1, { value: i })));

    const probe = await amqplib.connect(amqpUrl);
    try {
      const ch = await probe.createChannel();
      const waiting = async () => (await ch.checkQueue(ns.names.queue('prefetch'))).messageCount;
      const holdsThree = async () => {
        await waitFor(async () => (await waiting()) === 7, 30_000, 'three deliveries in flight, seven waiting');
        await new Promise((r) => setTimeout(r, 200)); // no further delivery comes while three are unacknowledged
        expect(await waiting()).toBe(7);
      };
      await holdsThree();
      expect(await closeBrokerConnections(`${ns.prefix}-prefetch`)).toBe(1);
      await waitFor(async () => consumer.attached, 60_000, 'the consumer attached on a new channel');
      await holdsThree();
    } finally {
      release(); // also when it failed: a consumer stops only once its handlers return
      await probe.close();
    }
    const applied = async () => Number((await rows(dbs.consumer, `SELECT count(*) AS n FROM "ItemReplica" WHERE id LIKE 'prefetched-%'`))[0].n);
    await waitFor(async () => (await applied()) === 10, 60_000, 'all ten applied once released');
  }, 180_000);

  it('applies a redelivered event once and never goes back to an older version', async () => {
    const { consumer } = await startPipeline();
    const id = 'ordered';
    const v = (version: number, value: number) => ({ ...newEvent('test', 'ItemChanged', id, version, { value }) });
    const v2 = v(2, 20);
    const before = consumer.appliedCount;
    for (const event of [v2, v2, v(1, 10), v(3, 30), v2]) await publishRaw(event);
    await waitFor(async () => consumer.appliedCount - before === 3, 30_000, 'three distinct events applied');
    expect(await rows(dbs.consumer, `SELECT value, version, applied FROM "ItemReplica" WHERE id = '${id}'`)).toEqual([
      { value: 30, version: 3, applied: 2 }, // v2 inserted, v3 applied; v1 and the copies of v2 had no effect
    ]);
  });

  it('applies runs of events with a batch handler: one upsert per run, redeliveries and older versions without effect', async () => {
    const batches: number[] = [];
    const upsertAll: BatchEventHandler<PgSql> = {
      async batch(events, tx) {
        batches.push(events.length);
        const newest = newestPerAggregate(events).map((e) => ({ id: e.aggregateId, version: e.version, ...parsePayload(itemValue, e) }));
        await tx.$executeRaw`
          INSERT INTO "ItemReplica" (id, value, version)
          SELECT * FROM unnest(${newest.map((n) => n.id)}::text[], ${newest.map((n) => n.value)}::int[], ${newest.map((n) => n.version)}::int[])
          ON CONFLICT (id) DO UPDATE SET value = EXCLUDED.value, version = EXCLUDED.version, applied = "ItemReplica".applied + 1
          WHERE "ItemReplica".version < EXCLUDED.version`;
      },
    };
    // 10 items with versions 1..30 each, shuffled, and every fifth event sent twice.
    const events = Array.from({ length: 300 }, (_, n) => newEvent('test', 'ItemChanged', `batched-${n % 10}`, 1 + Math.floor(n / 10), { value: n }));
    const shuffled = events.map((e) => ({ e, key: Math.random() })).sort((a, b) => a.key - b.key).map(({ e }) => e);
    const sent = shuffled.flatMap((e, i) => (i % 5 === 0 ? [e, e] : [e]));
    const connection = connectToBroker(amqpUrl, silent, connectionName);
    open.push(connection);
    const startBatchConsumer = async () => {
      const consumer = startConsumer(connection, { 'test.ItemChanged': upsertAll });
      await consumer.start();
      return consumer;
    };
    // Queued while no consumer runs, so that it receives them in bursts once it starts.
    await (await startBatchConsumer()).stop();
    await publishRaw(...sent);
    const consumer = await startBatchConsumer();
    open.push(consumer);
    await waitFor(async () => consumer.appliedCount === 300, 30_000, '300 distinct events applied');
    await new Promise((r) => setTimeout(r, 300)); // time for any copy to arrive, if it were to count

    expect(consumer.appliedCount).toBe(300);
    expect(Math.max(...batches)).toBeGreaterThan(1);
    const replica = await rows(dbs.consumer, `SELECT id, value, version FROM "ItemReplica" WHERE id LIKE 'batched-%' ORDER BY id`);
    expect(replica).toEqual(Array.from({ length: 10 }, (_, i) => ({ id: `batched-${i}`, value: 290 + i, version: 30 })));
    const inbox = await dbs.consumer.query('SELECT count(*)::int AS n FROM "InboxEvent" WHERE id = ANY($1::uuid[])', [events.map((e) => e.id)]);
    expect(inbox.rows).toEqual([{ n: 300 }]);
  });

  it('prunes inbox ids past the retention; a redelivery after that still has no effect (version guard)', async () => {
    const { consumer } = await startPipeline();
    const v3 = newEvent('test', 'ItemChanged', 'pruned', 3, { value: 30 });
    const before = consumer.appliedCount;
    await publishRaw(v3);
    await waitFor(async () => consumer.appliedCount - before === 1, 10_000, 'v3 applied');
    const old = [newEvent('test', 'ItemChanged', 'old-1', 1, {}), newEvent('test', 'ItemChanged', 'old-2', 1, {})];
    await dbs.consumer.query(`INSERT INTO "InboxEvent" (id, type, "receivedAt") SELECT unnest($1::uuid[]), 'ItemChanged', now() - interval '8 days'`, [old.map((e) => e.id)]);

    expect(await consumer.pruneInbox()).toBe(2); // the default retention, 7 days
    const inInbox = async (id: string) => (await rows(dbs.consumer, `SELECT 1 FROM "InboxEvent" WHERE id = '${id}'`)).length;
    expect(await inInbox(v3.id)).toBe(1);

    // Once v3's id is past the retention too, a copy of v3 is applied again, and changes nothing.
    await dbs.consumer.query(`UPDATE "InboxEvent" SET "receivedAt" = now() - interval '8 days' WHERE id = $1`, [v3.id]);
    expect(await consumer.pruneInbox()).toBe(1);
    expect(await inInbox(v3.id)).toBe(0);
    const again = consumer.appliedCount;
    await publishRaw(v3);
    await waitFor(async () => consumer.appliedCount - again === 1, 10_000, 'the copy applied');
    expect(await rows(dbs.consumer, `SELECT value, version, applied FROM "ItemReplica" WHERE id = 'pruned'`)).toEqual([{ value: 30, version: 3, applied: 1 }]);
  });

  it('delivers the envelope exactly as appended: payload, version and occurredAt unchanged', async () => {
    const received: IntegrationEvent[] = [];
    const connection = connectToBroker(amqpUrl, silent, connectionName);
    open.push(connection);
    const consumer = startConsumer(connection, { 'test.EnvelopeChecked': async (event) => void received.push(event) }, 'envelope');
    await consumer.start();
    open.push(consumer);
    const relay = new OutboxRelay({ databaseUrl: dbs.producerUrl, connection, names: ns.names, logger: silent });
    await relay.start();
    open.push(relay);

    const payload = { name: 'Ünïcode "quoted" \\ back\nslash', cents: 1999, nested: { list: [1, null, true], empty: {} } };
    const event = { ...newEvent('test', 'EnvelopeChecked', 'agg-1', 7, payload), occurredAt: '2026-11-26T08:09:10.123Z' };
    const client = await dbs.producer.connect();
    try {
      await appendToOutbox(pgSql(client), event);
    } finally {
      client.release();
    }
    await waitFor(async () => received.length === 1, 10_000, 'the event delivered');
    expect(received[0]).toEqual(event);
  });

  it('claims the oldest rows in batches no larger than its batch size, each row once, and vacuums the outbox behind it', async () => {
    // A type no queue is bound to: the broker confirms and drops them; the relay is what is measured.
    const events = Array.from({ length: 230 }, (_, n) => newEvent('test', 'BatchCounted', `counted-${n}`, 1, { n }));
    const client = await dbs.producer.connect();
    try {
      await appendToOutbox(pgSql(client), ...events);
    } finally {
      client.release();
    }
    const vacuums = async () => Number((await rows(dbs.producer, `SELECT vacuum_count FROM pg_stat_user_tables WHERE relname = 'OutboxEvent'`))[0].vacuum_count);
    const vacuumsBefore = await vacuums();
    const batches: string[][] = [];
    const connection = connectToBroker(amqpUrl, silent, connectionName);
    open.push(connection);
    const relay = new OutboxRelay({
      databaseUrl: dbs.producerUrl,
      connection,
      names: ns.names,
      logger: silent,
      batchSize: 50,
      vacuumEveryRows: 100,
      afterConfirm: (ids) => void batches.push(ids),
    });
    await relay.start();
    open.push(relay);
    const appended = new Map(events.map((e, i) => [e.id, i]));
    const ours = () => batches.flat().filter((id) => appended.has(id));
    await waitFor(async () => ours().length >= 230, 10_000, 'all 230 published');

    expect(Math.max(...batches.map((b) => b.length))).toBeLessThanOrEqual(50);
    expect(ours().sort()).toEqual([...appended.keys()].sort()); // each exactly once
    for (const batch of batches) {
      const positions = batch.map((id) => appended.get(id)).filter((i) => i !== undefined);
      expect(positions).toEqual([...positions].sort((a, b) => a - b)); // oldest first within a batch
    }
    await waitFor(async () => (await vacuums()) >= vacuumsBefore + 2, 10_000, 'two vacuums (230 rows deleted, one every 100)');
  });

  it('still delivers an event, with one effect, when the relay dies between confirm and commit', async () => {
    const connection = connectToBroker(amqpUrl, silent, connectionName);
    open.push(connection);
    const consumer = startConsumer(connection);
    await consumer.start();
    open.push(consumer);
    await updateItem('crash', 1);
    const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./fixtures/relayThatDies.ts', import.meta.url)), dbs.producerUrl, amqpUrl, ns.prefix], { stdio: 'inherit' });
    const signal = await new Promise((resolve) => child.once('exit', (_code, sig) => resolve(sig)));
    expect(signal).toBe('SIGKILL');
    expect(await rows(dbs.producer, `SELECT version FROM "OutboxEvent" WHERE "aggregateId" = 'crash'`)).toEqual([{ version: 1 }]); // confirmed, not deleted

    const relay = new OutboxRelay({ databaseUrl: dbs.producerUrl, connection, names: ns.names, logger: silent });
    await relay.start();
    open.push(relay);
    await waitFor(async () => (await rows(dbs.producer, `SELECT 1 FROM "OutboxEvent" WHERE "aggregateId" = 'crash'`)).length === 0, 10_000, 'republished');
    await waitFor(async () => (await replicaState()).some((r) => r.id === 'crash'), 10_000, 'applied');
    await new Promise((r) => setTimeout(r, 300)); // time for a second copy to arrive, if it were to count
    expect(await rows(dbs.consumer, `SELECT value, version, applied FROM "ItemReplica" WHERE id = 'crash'`)).toEqual([{ value: 1, version: 1, applied: 1 }]);
  });

  it('parks poison and failing messages with their reason while valid events keep flowing, and redrives them', async () => {
    failFor = new Set(['cursed']);
    const { consumer } = await startPipeline();
    await publishRaw('{ this is not json');
    await updateItem('cursed', 7);
    for (let i = 0; i < 20; i++) await updateItem(`flowing-${i}`, i);
    await waitFor(async () => (await replicaState()).filter((r) => r.id.startsWith('flowing-')).length === 20, 20_000, 'valid events applied');
    await waitFor(async () => (await listParked(amqpUrl, ns.names, 'replica')).length === 2, 20_000, 'two parked');

    const parked = await listParked(amqpUrl, ns.names, 'replica');
    expect(parked.map((p) => p.reason).sort()).toEqual(['failed 3 times; last error: cannot apply cursed right now', 'message body is not JSON']);
    expect(parked.every((p) => p.routingKey === 'test.ItemChanged')).toBe(true);
    expect((await replicaState()).some((r) => r.id === 'cursed')).toBe(false);

    failFor = new Set(); // the cause is fixed
    const applied = consumer.appliedCount;
    expect(await redriveParked(amqpUrl, ns.names, 'replica')).toBe(2);
    await waitFor(async () => (await replicaState()).some((r) => r.id === 'cursed'), 10_000, 'cursed applied after redrive');
    // The malformed one is parked again; the redriven good one applied once.
    await waitFor(async () => (await listParked(amqpUrl, ns.names, 'replica')).length === 1, 10_000, 'malformed parked again');
    expect(consumer.appliedCount - applied).toBe(1);
    expect(await redriveParked(amqpUrl, ns.names, 'replica')).toBe(1);
    expect(await rows(dbs.consumer, `SELECT applied FROM "ItemReplica" WHERE id = 'cursed'`)).toEqual([{ applied: 1 }]);
  });
  it("runs a service's raw-SQL handlers in a plain pg transaction on a pool of its own (transaction: 'pg'), closed with the workers", async () => {
    const service = { name: 'workers', events: { produces: false, handlers: { 'test.ItemChanged': applyItemChange }, transaction: 'pg' as const } };
    const workers = await startEventWorkers(service, undefined, { amqpUrl, prefix: ns.prefix, databaseUrl: dbs.consumerUrl, logger: silent });
    const poolBackends = async () => Number((await rows(dbs.consumer, `SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = 'workers event consumer'`))[0].n);
    try {
      const event = newEvent('test', 'ItemChanged', 'through-pg', 1, { value: 7 });
      await publishRaw(event);
      await waitFor(async () => (await rows(dbs.consumer, `SELECT 1 FROM "ItemReplica" WHERE id = 'through-pg'`)).length === 1, 30_000, 'the event applied');
      expect(await rows(dbs.consumer, `SELECT value, version FROM "ItemReplica" WHERE id = 'through-pg'`)).toEqual([{ value: 7, version: 1 }]);
      expect(await rows(dbs.consumer, `SELECT id FROM "InboxEvent" WHERE id = '${event.id}'`)).toHaveLength(1);
      expect(await poolBackends()).toBeGreaterThan(0);
      expect(await poolBackends()).toBeLessThanOrEqual(2);
    } finally {
      await workers.close();
    }
    await waitFor(async () => (await poolBackends()) === 0, 10_000, 'the pool closed');
  });
});
