import { fileURLToPath } from 'node:url';
import type { ServiceModule } from '@mercado/service-kit';
import { createDb, type Db } from './db.ts';
import { catalogEvents } from './events/index.ts';
import { seed } from './seed.ts';
import { startCatalog } from './service.ts';

export { createDb, type Db, seed, startCatalog };

export const catalogService: ServiceModule<Db> = {
  name: 'catalog',
  defaultPort: 4002,
  migrationsDir: fileURLToPath(new URL('../../../prisma/catalog/migrations', import.meta.url)),
  createDb,
  seed: async (db) => `${await seed(db)} products`,
  start: startCatalog,
  events: catalogEvents,
};
