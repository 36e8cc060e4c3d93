import { fileURLToPath } from 'node:url';
import type { ServiceModule } from '@mercado/service-kit';
import { createDb, type Db } from './db.ts';
import { ordersEvents } from './events/index.ts';
import { seed } from './seed.ts';
import { startOrders } from './service.ts';

export { createDb, type Db, seed, startOrders };

export const ordersService: ServiceModule<Db> = {
  name: 'orders',
  defaultPort: 4004,
  migrationsDir: fileURLToPath(new URL('../../../prisma/orders/migrations', import.meta.url)),
  createDb,
  seed: async (db) => `${await seed(db)} orders`,
  start: startOrders,
  events: ordersEvents,
};
