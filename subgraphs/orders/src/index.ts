import { fileURLToPath } from 'node:url';
import type { ServiceModule } from '@mercado/service-kit';
import { createDb, type Db } from './db.ts';
import { startOrdersWorkers } from './workers.ts';
import { ordersEvents } from './events/index.ts';
import { seed } from './seed.ts';
import { startOrders } from './service.ts';

export { startOrdersWorkers, createDb, type Db, seed, startOrders };

export const ordersService: ServiceModule<Db> = {
  name: 'orders',
  defaultPort: 4004,
  migrationsDir: fileURLToPath(new URL('../../../prisma/orders/migrations', import.meta.url)),
  createDb,
  seed: async (db) => `${await seed(db)} orders`,
  start: async (db, runtime) => {
    // Read on start, not on import: tests and tools import this module without its environment.
    const { environment } = await import('./environment.ts');
    return startOrders(db, runtime, { stepTimeoutMs: environment.SAGA_STEP_TIMEOUT_MS });
  },
  workers: async (db, config) => {
    const { environment } = await import('./environment.ts');
    return startOrdersWorkers(db, { ...config, stepTimeoutMs: environment.SAGA_STEP_TIMEOUT_MS });
  },
  events: ordersEvents,
};
