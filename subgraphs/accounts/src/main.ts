import { closeOnSignals, createLogger } from '@mercado/service-kit';
import { createDb } from './db.ts';
import { environment as env } from './environment.ts';
import { startAccounts } from './service.ts';

const logger = createLogger('accounts', env.LOG_LEVEL);
const db = createDb(env.DATABASE_URL);
const service = await startAccounts(
  db,
  { port: env.PORT, host: env.HOST, internalTokenSecret: env.INTERNAL_TOKEN_SECRET, logger },
  { tokenTtlSeconds: env.TOKEN_TTL_SECONDS },
);
logger.info({ url: service.url }, 'accounts subgraph ready');
closeOnSignals(logger, [service.close, () => db.$disconnect()]);
