import { applyMigrations, dropDatabase, ensureDatabase, withDatabase } from '@mercado/db';
import { declareTopology, deleteTopology, republish } from '@mercado/event-bus';
import { deleteSagaKeys } from '@mercado/saga';
import { consumers, databaseName, services, type Stack } from '@mercado/system';
import { backingServices, missingBackingServices } from './backingServices.ts';
import { loadService, loadServices } from './services.ts';

type Log = (line: string) => void;

/** The URL of a service's own database in this stack. */
export const databaseUrlOf = (stack: Stack, service: string) => withDatabase(stack.postgresUrl, databaseName(stack, service));

/** PostgreSQL, Redis and RabbitMQ that do not answer, each with why. */
export function unreachableBackingServices(stack: Stack) {
  return missingBackingServices(backingServices({ POSTGRES_URL: stack.postgresUrl, REDIS_URL: stack.redisUrl, AMQP_URL: stack.amqpUrl }));
}

/**
 * Creates each service's database if missing, applies its migrations and (unless `seed: false`)
 * writes the development data set. Idempotent. Services one after another: the log reads in order.
 */
export async function prepareDatabases(stack: Stack, options: { seed?: boolean; log?: Log } = {}): Promise<void> {
  const log = options.log ?? (() => {});
  for (const { name } of services) {
    const service = await loadService(name);
    const url = databaseUrlOf(stack, name);
    const created = await ensureDatabase(url);
    const applied = await applyMigrations(url, service.migrationsDir);
    let seeded = '';
    if (options.seed !== false) {
      const db = service.createDb(url);
      try {
        seeded = `  seeded ${await service.seed(db)}`;
      } finally {
        await db.$disconnect();
      }
    }
    log(`  ${name.padEnd(10)} ${created ? 'created' : 'exists '}  ${applied.length ? `applied ${applied.length} migration(s)` : 'migrations up to date'}${seeded}`);
  }
}

/**
 * Every consumer's queue, parking lot and bindings, from the manifest, before any service
 * publishes: a topic exchange drops an event no queue is bound for yet.
 */
export async function declareBroker(stack: Stack, log: Log = () => {}): Promise<void> {
  await declareTopology(
    stack.amqpUrl,
    stack.name,
    consumers.map((c) => ({ name: c.name, routingKeys: [...c.consumes] })),
  );
  log(`  broker     exchange ${stack.name}.events, queues for ${consumers.map((c) => c.name).join(', ')}`);
}

/**
 * A read model that is empty while its sources have data (databases from before a service
 * consumed events, or a replica someone wiped) gets a snapshot from each source through its
 * outbox; the relays deliver it once the services run.
 */
export async function bootstrapReadModels(stack: Stack, log: Log = () => {}): Promise<void> {
  const modules = await loadServices();
  for (const consumer of Object.values(modules).filter((s) => s.events?.readModel)) {
    const readModel = consumer.events!.readModel!;
    const db = consumer.createDb(databaseUrlOf(stack, consumer.name));
    try {
      if ((await readModel.count(db)) > 0) continue;
      for (const source of readModel.sources) {
        const sourceDb = modules[source]!.createDb(databaseUrlOf(stack, source));
        try {
          const n = await republish(sourceDb, await modules[source]!.events!.snapshot!(sourceDb));
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

/** Everything a stack made on the servers: its databases, broker topology and saga keys. For tests, smokes and benchmarks. */
export async function dropStack(stack: Stack): Promise<void> {
  for (const { name } of services) await dropDatabase(databaseUrlOf(stack, name)).catch(() => {});
  await deleteTopology(stack.amqpUrl, stack.name, consumers.map((c) => c.name)).catch(() => {});
  await deleteSagaKeys(stack.redisUrl, stack.name).catch(() => {});
}
