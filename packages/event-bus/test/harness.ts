import { randomBytes } from 'node:crypto';
import amqplib from 'amqplib';
import pg from 'pg';
import { pino } from 'pino';
import { dropDatabase, ensureDatabase, withDatabase } from '@mercado/db';
import { topologyNames, type TopologyNames } from '../src/index.ts';
export { closeBrokerConnections } from '../src/testing.ts';

export const amqpUrl = process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const postgresUrl = process.env.POSTGRES_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
export const silent = pino({ level: process.env.LOG_LEVEL ?? 'silent' });

/**
 * A producer database and a consumer database with the outbox/inbox tables every Mercado
 * service has, and a small "Item" aggregate (source) and its replica (read model).
 */
export async function createEventDatabases() {
  const id = randomBytes(5).toString('hex');
  const producerUrl = withDatabase(postgresUrl, `mercado_test_${id}_producer`);
  const consumerUrl = withDatabase(postgresUrl, `mercado_test_${id}_consumer`);
  await ensureDatabase(producerUrl);
  await ensureDatabase(consumerUrl);
  const producer = new pg.Pool({ connectionString: producerUrl, max: 4 });
  const consumer = new pg.Pool({ connectionString: consumerUrl, max: 8 });
  await producer.query(`
    CREATE TABLE "OutboxEvent" ("position" BIGSERIAL PRIMARY KEY, "id" UUID NOT NULL, "type" TEXT NOT NULL,
      "source" TEXT NOT NULL, "aggregateId" TEXT NOT NULL, "version" INTEGER NOT NULL, "occurredAt" TIMESTAMPTZ NOT NULL,
      "payload" JSONB NOT NULL, "traceparent" TEXT);
    CREATE TABLE "Item" ("id" TEXT PRIMARY KEY, "value" INTEGER NOT NULL, "version" INTEGER NOT NULL);`);
  await consumer.query(`
    CREATE TABLE "InboxEvent" ("id" UUID PRIMARY KEY, "type" TEXT NOT NULL, "receivedAt" TIMESTAMPTZ NOT NULL);
    CREATE INDEX "InboxEvent_receivedAt_idx" ON "InboxEvent" ("receivedAt");
    CREATE TABLE "ItemReplica" ("id" TEXT PRIMARY KEY, "value" INTEGER NOT NULL, "version" INTEGER NOT NULL, "applied" INTEGER NOT NULL DEFAULT 1);`);
  return {
    producerUrl,
    consumerUrl,
    producer,
    consumer,
    async drop() {
      await producer.end();
      await consumer.end();
      await dropDatabase(producerUrl);
      await dropDatabase(consumerUrl);
    },
  };
}

/** A unique prefix for exchanges and queues, and a cleanup that deletes them. */
export function brokerNamespace(consumers: string[]): { names: TopologyNames; prefix: string; cleanup: () => Promise<void> } {
  const prefix = `mercado-test-${randomBytes(4).toString('hex')}`;
  const names = topologyNames(prefix);
  return {
    names,
    prefix,
    async cleanup() {
      const connection = await amqplib.connect(amqpUrl);
      const ch = await connection.createChannel();
      for (const c of consumers) {
        await ch.deleteQueue(names.queue(c));
        await ch.deleteQueue(names.parkingLot(c));
      }
      await ch.deleteExchange(names.exchange);
      await ch.deleteExchange(names.deadLetterExchange);
      await connection.close();
    },
  };
}


export async function waitFor(check: () => Promise<boolean>, timeoutMs = 30_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}
