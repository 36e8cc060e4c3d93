/**
 * What Mercado's own subgraphs need around them for a bench run, kept apart from the
 * development environment: databases `mercado_bench_<service>` (created, migrated and seeded
 * with the development data the way `npm start` prepares its own, dropped afterwards) and a
 * broker prefix of their own for integration events (deleted afterwards).
 */
import { randomBytes } from 'node:crypto';
import { applyMigrations, dropDatabase, ensureDatabase, withDatabase } from '@mercado/db';
import { deleteTopology } from '@mercado/event-bus';
import { services } from '@mercado/stack';

const postgresUrl = process.env.POSTGRES_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
const amqpUrl = process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';

export const benchDatabaseUrl = (service: string) => withDatabase(postgresUrl, `mercado_bench_${service}`);

/** This run's exchanges and queues on the broker. */
export const benchEventsPrefix = `mercado-bench-${randomBytes(4).toString('hex')}`;

export const mercadoServiceNames = () => services.map((s) => s.name);

/** From scratch every time: a database left by an interrupted run is dropped first. */
export async function prepareBenchDatabases(log: (line: string) => void): Promise<void> {
  for (const service of services) {
    const url = benchDatabaseUrl(service.name);
    await dropDatabase(url);
    await ensureDatabase(url);
    await applyMigrations(url, service.migrationsDir);
    const db = service.createDb(url);
    try {
      log(`  ${service.name.padEnd(10)} seeded ${await service.seed(db)}`);
    } finally {
      await db.$disconnect();
    }
  }
}

/** Drops the databases and the broker topology; safe to call when they were never created. */
export async function cleanUpMercadoStack(): Promise<void> {
  for (const service of services) await dropDatabase(benchDatabaseUrl(service.name)).catch(() => {});
  const consumers = services.filter((s) => s.events?.handlers).map((s) => s.name);
  await deleteTopology(amqpUrl, benchEventsPrefix, consumers).catch(() => {});
}
