import { fileURLToPath } from 'node:url';
import { defineService } from '@mercado/service-kit';
import { createDb, type Db } from './db.ts';
import { reviewsEnvironment } from './environment.ts';
import { reviewsEvents } from './events/index.ts';
import { seed } from './seed.ts';
import { startReviews } from './service.ts';

export { createDb, type Db, seed, startReviews };

export const reviewsService = defineService({
  name: 'reviews',
  environment: reviewsEnvironment,
  migrationsDir: fileURLToPath(new URL('../../../prisma/reviews/migrations', import.meta.url)),
  createDb,
  seed: async (db: Db) => `${await seed(db)} reviews`,
  start: (db, runtime) => startReviews(db, runtime),
  events: reviewsEvents,
});
