import type { ServiceEvents } from '@mercado/event-bus';
import type { Db, Tx } from '../db.ts';
import { applyCustomerStates } from './customerEvents.ts';
import { applyProductStates } from './productEvents.ts';

export const ordersEvents: ServiceEvents<Db, Tx> = {
  produces: true,
  handlers: {
    'catalog.ProductCreated': applyProductStates,
    'catalog.ProductPriceChanged': applyProductStates,
    'catalog.ProductSnapshotPublished': applyProductStates,
    'accounts.UserRegistered': applyCustomerStates,
    'accounts.UserSnapshotPublished': applyCustomerStates,
  },
  transaction: (db, fn) => db.$transaction(fn),
  readModel: {
    sources: ['catalog', 'accounts'],
    async clear(db) {
      await db.$transaction([db.productReplica.deleteMany(), db.customerReplica.deleteMany()]);
    },
    count: async (db) => (await db.productReplica.count()) + (await db.customerReplica.count()),
  },
};
