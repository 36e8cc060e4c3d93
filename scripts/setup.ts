/**
 * Prepares every service's database: checks the backing services, creates each database if
 * missing, applies its migrations and seeds the development data. Idempotent; `npm start` runs
 * it first, and docker-compose runs it as a one-shot container.
 */
import { fileURLToPath } from 'node:url';
import { applyMigrations, ensureDatabase, withDatabase } from '@mercado/db';
import { declareTopology, republish } from '@mercado/event-bus';
import { backingServices, missingBackingServices } from './lib/backingServices.ts';
import { environment, redact } from './lib/environment.ts';
import { services } from '@mercado/stack';

export const databaseUrl = (service: string) => withDatabase(environment.POSTGRES_URL, `mercado_${service}`);

export async function checkBackingServices(): Promise<void> {
  const missing = await missingBackingServices(backingServices(environment));
  if (missing.length === 0) return;
  console.error('\nMercado needs these services, which do not answer:\n');
  for (const m of missing) console.error(`  ✗ ${m.name} at ${redact(m.url)}: ${m.reason}`);
  console.error(
    '\nStart them, for example with Docker:   docker compose up -d postgres redis rabbitmq' +
      '\nor point POSTGRES_URL, REDIS_URL, AMQP_URL at running ones (see README, "Environment").\n',
  );
  process.exit(1);
}

/** Every consumer's queue, parking lot and bindings, before any service publishes. */
export async function setupBroker(log: (line: string) => void = console.log): Promise<void> {
  const consumers = services
    .filter((s) => s.events?.handlers)
    .map((s) => ({ name: s.name, routingKeys: Object.keys(s.events!.handlers!) }));
  await declareTopology(environment.AMQP_URL, environment.EVENTS_PREFIX, consumers);
  log(`  broker     exchange ${environment.EVENTS_PREFIX}.events, queues for ${consumers.map((c) => c.name).join(', ')}`);
}

/**
 * A read model that is empty while its sources have data (databases from before a service
 * consumed events, or a replica someone wiped) gets a snapshot from each source through its
 * outbox; the relays deliver it once the services run.
 */
export async function bootstrapReadModels(log: (line: string) => void = console.log): Promise<void> {
  const byName = Object.fromEntries(services.map((s) => [s.name, s]));
  for (const consumer of services.filter((s) => s.events?.readModel)) {
    const readModel = consumer.events!.readModel!;
    const db = consumer.createDb(databaseUrl(consumer.name));
    try {
      if ((await readModel.count(db)) > 0) continue;
      for (const source of readModel.sources) {
        const sourceDb = byName[source]!.createDb(databaseUrl(source));
        try {
          const n = await republish(sourceDb, await byName[source]!.events!.snapshot!(sourceDb));
          if (n) log(`  ${consumer.name.padEnd(10)} read model empty: ${source} republishes ${n} snapshot event(s)`);
        } finally {
          await sourceDb.$disconnect();
        }
      }
    } finally {
      await db.$disconnect();
    }
  }
}

export async function setupDatabases(log: (line: string) => void = console.log): Promise<void> {
  for (const service of services) {
    const url = databaseUrl(service.name);
    const created = await ensureDatabase(url);
    const applied = await applyMigrations(url, service.migrationsDir);
    const db = service.createDb(url);
    try {
      const seeded = await service.seed(db);
      log(
        `  ${service.name.padEnd(10)} ${created ? 'created' : 'exists '}  ` +
          `${applied.length ? `applied ${applied.length} migration(s)` : 'migrations up to date'}  seeded ${seeded}`,
      );
    } finally {
      await db.$disconnect();
    }
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await checkBackingServices();
  console.log('Preparing databases and broker:');
  await setupDatabases();
  await setupBroker();
  await bootstrapReadModels();
}
