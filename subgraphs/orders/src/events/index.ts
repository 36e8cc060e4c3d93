import { parsePayload, replicaKey, type PgSql, type ServiceEvents } from '@mercado/event-bus';
import type { Db } from '../db.ts';
import { applyCustomerStates, customerState } from './customerEvents.ts';
import { applyProductStates, productState } from './productEvents.ts';

export const ordersEvents: ServiceEvents<Db, PgSql> = {
  produces: true,
  handlers: {
    'catalog.ProductCreated': applyProductStates,
    'catalog.ProductPriceChanged': applyProductStates,
    'catalog.ProductSnapshotPublished': applyProductStates,
    'accounts.UserRegistered': applyCustomerStates,
    'accounts.UserSnapshotPublished': applyCustomerStates,
  },
  // Every handler is one raw statement: a plain pg transaction does.
  transaction: 'pg',
  readModel: {
    sources: ['catalog', 'accounts'],
    async clear(db) {
      await db.$transaction([db.productReplica.deleteMany(), db.customerReplica.deleteMany()]);
    },
    count: async (db) => (await db.productReplica.count()) + (await db.customerReplica.count()),
    async rows(db) {
      const products = await db.productReplica.findMany();
      const customers = await db.customerReplica.findMany();
      return [
        ...products.map((p) => ({ key: `catalog:${p.id}`, version: p.version, fields: { sku: p.sku, name: p.name, priceCents: p.priceCents, currency: p.currency } })),
        ...customers.map((c) => ({ key: `accounts:${c.id}`, version: c.version, fields: { name: c.name, email: c.email } })),
      ];
    },
    expect: (event) => ({
      key: replicaKey(event),
      version: event.version,
      fields: event.source === 'catalog' ? parsePayload(productState, event) : parsePayload(customerState, event),
    }),
  },
};
