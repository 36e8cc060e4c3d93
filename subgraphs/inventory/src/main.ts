import { closeOnSignals, createLogger } from '@mercado/service-kit';
import { createDb } from './db.ts';
import { environment as env } from './environment.ts';
import { startInventory } from './service.ts';

const logger = createLogger('inventory', env.LOG_LEVEL);
const db = createDb(env.DATABASE_URL);
const service = await startInventory(db, {
  port: env.PORT,
  host: env.HOST,
  internalTokenSecret: env.INTERNAL_TOKEN_SECRET,
  logger,
});
logger.info({ url: service.url }, 'inventory subgraph ready');
closeOnSignals(logger, [service.close, () => db.$disconnect()]);
