import type { z } from 'zod';
import { Redis } from 'ioredis';
import { applyMigrations } from '@mercado/db';
import { startEventWorkers } from '@mercado/event-bus';
import { startTelemetry } from '@mercado/telemetry';
import { brokerEnvironment, commonEnvironment, parseEnvironment, sagaEnvironment, serviceEnvironment } from './environment.ts';
import { createLogger, type Logger } from './logger.ts';
import { startManagementServer } from './management.ts';
import { assertProductionSecret } from './productionSafety.ts';
import { Readiness } from './readiness.ts';
import type { ServiceModule } from './serviceModule.ts';
import { shutdownOnSignals } from './shutdown.ts';

/** Every variable a service's process reads: the common ones, its broker and Redis if it uses them, its own. */
export function serviceProcessEnvironment(service: ServiceModule) {
  return {
    ...serviceEnvironment(service.name),
    ...(service.events ? brokerEnvironment : {}),
    ...(service.workers ? sagaEnvironment : {}),
    ...service.environment,
  };
}

const usage = (name: string) => `usage: node main.js [serve | migrate | seed]   (${name}: serve by default)`;

/**
 * A service's process, `main.ts` of every subgraph:
 *   serve    (default) its GraphQL server, outbox relay, event consumer and saga workers, with
 *            /health and /ready, /metrics on the management port, and a graceful shutdown;
 *   migrate  applies its pending migrations to DATABASE_URL and exits (a Kubernetes Job, an
 *            init step), without the secret or the broker a server needs;
 *   seed     writes the development data set (idempotent) and exits.
 * A bad or missing variable stops it at once with a message naming the variable.
 */
export async function runService(service: ServiceModule, argv: string[] = process.argv.slice(2)): Promise<void> {
  const [command = 'serve', ...rest] = argv;
  if (rest.length || !['serve', 'migrate', 'seed'].includes(command)) exitWith(service.name, usage(service.name), 2);
  const shape = command === 'serve' ? serviceProcessEnvironment(service) : { LOG_LEVEL: commonEnvironment.LOG_LEVEL, DATABASE_URL: serviceEnvironment(service.name).DATABASE_URL };
  let env: Record<string, any>;
  try {
    env = parseEnvironment(shape as z.ZodRawShape);
    if (command === 'serve') assertProductionSecret(env.NODE_ENV === 'production', env.INTERNAL_TOKEN_SECRET);
  } catch (error) {
    exitWith(service.name, (error as Error).message, 1);
  }
  const logger = createLogger(service.name, env.LOG_LEVEL);
  try {
    if (command === 'migrate') {
      const applied = await applyMigrations(env.DATABASE_URL, service.migrationsDir);
      logger.info({ applied }, applied.length ? `applied ${applied.length} migration(s)` : 'migrations up to date');
      process.exit(0);
    }
    if (command === 'seed') {
      const db = service.createDb(env.DATABASE_URL);
      logger.info(`seeded ${await service.seed(db)}`);
      await db.$disconnect();
      process.exit(0);
    }
    await serve(service, env, logger);
  } catch (error) {
    logger.fatal({ err: error }, `${service.name} could not ${command}`);
    process.exit(1);
  }
}

function exitWith(name: string, message: string, code: number): never {
  console.error(`${name}: ${message}`);
  process.exit(code);
}

/**
 * Brings the service up in an order that never hangs silently: the management port first (so
 * /health answers and /ready says what is missing), then its database (waited for, not ready
 * meanwhile), then the GraphQL server and its workers; the broker and Redis connect in the
 * background, and /ready names them while they are down.
 */
async function serve(service: ServiceModule, env: Record<string, any>, logger: Logger): Promise<void> {
  // First, so that everything after it is traced (when OTEL_* asks for traces).
  const telemetry = await startTelemetry(service.name);
  const readiness = new Readiness({ starting: true });
  const db = service.createDb(env.DATABASE_URL);
  readiness.add('database', async () => {
    await db.$queryRaw`SELECT 1`;
    return true;
  });
  const management = await startManagementServer({ name: service.name, port: env.METRICS_PORT, host: env.HOST, readiness });
  await untilReachable('database', () => db.$queryRaw`SELECT 1`, logger);

  const settings = parseEnvironment(service.environment, env);
  const saga = service.workers ? { redisUrl: env.REDIS_URL, prefix: env.SAGA_PREFIX } : undefined;
  const server = await service.start(
    db,
    { port: env.PORT, host: env.HOST, internalTokenSecret: env.INTERNAL_TOKEN_SECRET, logger, readiness, ...(saga ? { saga } : {}) },
    settings,
  );
  const events = service.events
    ? await startEventWorkers(service, db, { amqpUrl: env.AMQP_URL, prefix: env.EVENTS_PREFIX, databaseUrl: env.DATABASE_URL, logger, waitForBroker: false })
    : undefined;
  if (events) readiness.add('broker', () => events.ready());
  const workers = saga && service.workers ? await service.workers(db, { ...saga, logger }, settings) : undefined;
  // Redis as the saga workers see it, or else through a connection of its own that only answers probes.
  const redisProbe = workers && !workers.ready ? new Redis(env.REDIS_URL, { lazyConnect: false, maxRetriesPerRequest: 1, enableOfflineQueue: false }) : undefined;
  redisProbe?.on('error', () => {}); // its status says it; the workers log their own errors
  if (workers) readiness.add('redis', () => workers.ready?.() ?? redisProbe!.status === 'ready');

  readiness.markStarted();
  const running = [events?.relay && 'outbox relay', events?.consumer && 'event consumer', workers && 'saga workers'].filter(Boolean);
  logger.info({ url: server.url, metrics: `http://${env.HOST}:${env.METRICS_PORT}/metrics`, ...(running.length ? { workers: running.join(', ') } : {}) }, `${service.name} serving`);

  const graceMs: number = env.SHUTDOWN_GRACE_MS;
  shutdownOnSignals({
    logger,
    readiness,
    delayMs: env.SHUTDOWN_DELAY_MS,
    graceMs,
    stages: [
      // Stop taking work; what is in hand finishes.
      [
        { name: 'http', run: () => server.close(graceMs) },
        { name: 'event consumer', run: async () => events?.stopConsuming() },
        { name: 'saga workers', run: async () => workers?.close() },
      ],
      // Publish what that work wrote to the outbox.
      [{ name: 'outbox relay', run: async () => events?.stopRelay() }],
      [
        {
          name: 'connections',
          run: async () => {
            await events?.close();
            redisProbe?.disconnect();
            await management.close(1_000);
            await db.$disconnect();
            await telemetry?.shutdown();
          },
        },
      ],
    ],
  });
}

/** Resolves once `probe` succeeds, trying again every second; says so while it fails. */
async function untilReachable(what: string, probe: () => PromiseLike<unknown>, logger: Logger): Promise<void> {
  let lastSaid = 0;
  for (;;) {
    try {
      await probe();
      if (lastSaid) logger.info(`${what} reachable`);
      return;
    } catch (error) {
      if (Date.now() - lastSaid > 10_000) {
        logger.warn({ err: (error as Error).message }, `${what} unreachable; not ready, trying again every second`);
        lastSaid = Date.now();
      }
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    }
  }
}
