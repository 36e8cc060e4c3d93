import { fileURLToPath } from 'node:url';
import { defineService } from '@mercado/service-kit';
import { createDb, type Db } from './db.ts';
import { inventoryEnvironment } from './environment.ts';
import { inventoryEvents } from './events/index.ts';
import { seed } from './seed.ts';
import { startInventory } from './service.ts';
import { startInventoryWorkers } from './workers.ts';

export { createDb, type Db, seed, startInventory };
/** The inventory's saga participant: reserve, commit, release and return stock; `stockLedger` for invariant checks. */
export * as stockCommands from './domain/reservations.ts';

export const inventoryService = defineService({
  name: 'inventory',
  environment: inventoryEnvironment,
  migrationsDir: fileURLToPath(new URL('../../../prisma/inventory/migrations', import.meta.url)),
  createDb,
  seed: async (db: Db) => `${await seed(db)} stock items`,
  start: (db, runtime) => startInventory(db, runtime),
  events: inventoryEvents,
  workers: (db, config) => startInventoryWorkers(db, config),
});
