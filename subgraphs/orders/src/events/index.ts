import type { ServiceEvents } from '@mercado/event-bus';
import type { Db, Tx } from '../db.ts';
import { onCustomerState } from './customerEvents.ts';
import { onProductState } from './productEvents.ts';

export const ordersEvents: ServiceEvents<Db, Tx> = {
  produces: true,
  handlers: {
    'catalog.ProductCreated': onProductState,
    'catalog.ProductPriceChanged': onProductState,
    'catalog.ProductSnapshotPublished': onProductState,
    'accounts.UserRegistered': onCustomerState,
    'accounts.UserSnapshotPublished': onCustomerState,
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
