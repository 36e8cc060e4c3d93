import { startEventWorkers } from '@mercado/event-bus';
import { createLogger } from './logger.ts';
import { assertProductionSecret } from './productionSafety.ts';
import type { ServiceModule } from './serviceModule.ts';
import { closeOnSignals } from './shutdown.ts';

export interface ServiceProcessEnvironment {
  PORT: number;
  HOST: string;
  DATABASE_URL: string;
  INTERNAL_TOKEN_SECRET: string;
  NODE_ENV: string;
  LOG_LEVEL: string;
  AMQP_URL: string;
  EVENTS_PREFIX: string;
  REDIS_URL: string;
  SAGA_PREFIX: string;
}

/**
 * A subgraph's process: its GraphQL server and, when it has integration events, its outbox
 * relay and consumer; all stopped in order on SIGINT/SIGTERM.
 */
export async function runService(service: ServiceModule, env: ServiceProcessEnvironment): Promise<void> {
  assertProductionSecret(env.NODE_ENV === 'production', env.INTERNAL_TOKEN_SECRET);
  const logger = createLogger(service.name, env.LOG_LEVEL);
  const db = service.createDb(env.DATABASE_URL);
  const server = await service.start(db, {
    port: env.PORT,
    host: env.HOST,
    internalTokenSecret: env.INTERNAL_TOKEN_SECRET,
    logger,
    saga: { redisUrl: env.REDIS_URL, prefix: env.SAGA_PREFIX },
  });
  const events = await startEventWorkers(service, db, {
    amqpUrl: env.AMQP_URL,
    prefix: env.EVENTS_PREFIX,
    databaseUrl: env.DATABASE_URL,
    logger,
  });
  const sagaWorkers = service.workers ? await service.workers(db, { redisUrl: env.REDIS_URL, prefix: env.SAGA_PREFIX, logger }) : undefined;
  const workers = [events.relay && 'outbox relay', events.consumer && 'event consumer', sagaWorkers && 'saga workers'].filter(Boolean);
  logger.info({ url: server.url, ...(workers.length ? { workers: workers.join(', ') } : {}) }, `${service.name} subgraph ready`);
  closeOnSignals(logger, [server.close, async () => sagaWorkers?.close(), events.close, () => db.$disconnect()]);
}
