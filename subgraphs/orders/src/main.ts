import { closeOnSignals, createLogger } from '@mercado/service-kit';
import { createDb } from './db.ts';
import { environment as env } from './environment.ts';
import { startOrders } from './service.ts';

const logger = createLogger('orders', env.LOG_LEVEL);
const db = createDb(env.DATABASE_URL);
const service = await startOrders(db, {
  port: env.PORT,
  host: env.HOST,
  internalTokenSecret: env.INTERNAL_TOKEN_SECRET,
  logger,
});
logger.info({ url: service.url }, 'orders subgraph ready');
closeOnSignals(logger, [service.close, () => db.$disconnect()]);
