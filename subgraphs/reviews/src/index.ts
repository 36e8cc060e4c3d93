import { fileURLToPath } from 'node:url';
import type { ServiceModule } from '@mercado/service-kit';
import { createDb, type Db } from './db.ts';
import { reviewsEvents } from './events/index.ts';
import { seed } from './seed.ts';
import { startReviews } from './service.ts';

export { createDb, type Db, seed, startReviews };

export const reviewsService: ServiceModule<Db> = {
  name: 'reviews',
  defaultPort: 4005,
  migrationsDir: fileURLToPath(new URL('../../../prisma/reviews/migrations', import.meta.url)),
  createDb,
  seed: async (db) => `${await seed(db)} reviews`,
  start: startReviews,
  events: reviewsEvents,
};
