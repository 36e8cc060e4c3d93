import { fileURLToPath } from 'node:url';
import { defineService } from '@mercado/service-kit';
import { createDb, type Db } from './db.ts';
import { catalogEnvironment } from './environment.ts';
import { catalogEvents } from './events/index.ts';
import { seed } from './seed.ts';
import { startCatalog } from './service.ts';

export { createDb, type Db, seed, startCatalog };

export const catalogService = defineService({
  name: 'catalog',
  environment: catalogEnvironment,
  migrationsDir: fileURLToPath(new URL('../../../prisma/catalog/migrations', import.meta.url)),
  createDb,
  seed: async (db: Db) => `${await seed(db)} products`,
  start: (db, runtime) => startCatalog(db, runtime),
  events: catalogEvents,
});
