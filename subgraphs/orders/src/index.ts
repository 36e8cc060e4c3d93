import { fileURLToPath } from 'node:url';
import { defineService } from '@mercado/service-kit';
import { createDb, type Db } from './db.ts';
import { ordersEnvironment } from './environment.ts';
import { startOrdersWorkers } from './workers.ts';
import { ordersEvents } from './events/index.ts';
import { seed } from './seed.ts';
import { startOrders } from './service.ts';

export { startOrdersWorkers, createDb, type Db, seed, startOrders };

export const ordersService = defineService({
  name: 'orders',
  environment: ordersEnvironment,
  migrationsDir: fileURLToPath(new URL('../../../prisma/orders/migrations', import.meta.url)),
  createDb,
  seed: async (db: Db) => `${await seed(db)} orders`,
  start: (db, runtime, settings) => startOrders(db, runtime, { stepTimeoutMs: settings.SAGA_STEP_TIMEOUT_MS }),
  workers: (db, config, settings) => startOrdersWorkers(db, { ...config, stepTimeoutMs: settings.SAGA_STEP_TIMEOUT_MS }),
  events: ordersEvents,
});
