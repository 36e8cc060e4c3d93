import { parsePayload, replicaKey, type ServiceEvents } from '@mercado/event-bus';
import type { Db, Tx } from '../db.ts';
import { recordPurchases } from './OrderConfirmed.ts';
import { productExists, recordProducts } from './productEvents.ts';

export const reviewsEvents: ServiceEvents<Db, Tx> = {
  produces: false,
  handlers: {
    'orders.OrderConfirmed': recordPurchases,
    'catalog.ProductCreated': recordProducts,
    'catalog.ProductPriceChanged': recordProducts,
    'catalog.ProductSnapshotPublished': recordProducts,
  },
  transaction: (db, fn) => db.$transaction(fn),
  // The products it knows of. (Purchases are a set built from OrderConfirmed, not a copy of any state.)
  readModel: {
    sources: ['catalog'],
    clear: async (db) => void (await db.productReplica.deleteMany()),
    count: (db) => db.productReplica.count(),
    async rows(db) {
      const products = await db.productReplica.findMany();
      return products.map((p) => ({ key: `catalog:${p.id}`, version: p.version, fields: {} }));
    },
    expect: (event) => ({ key: replicaKey(event), version: event.version, fields: parsePayload(productExists, event) }),
  },
};
