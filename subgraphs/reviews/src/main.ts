import { closeOnSignals, createLogger } from '@mercado/service-kit';
import { createDb } from './db.ts';
import { environment as env } from './environment.ts';
import { startReviews } from './service.ts';

const logger = createLogger('reviews', env.LOG_LEVEL);
const db = createDb(env.DATABASE_URL);
const service = await startReviews(db, {
  port: env.PORT,
  host: env.HOST,
  internalTokenSecret: env.INTERNAL_TOKEN_SECRET,
  logger,
});
logger.info({ url: service.url }, 'reviews subgraph ready');
closeOnSignals(logger, [service.close, () => db.$disconnect()]);
