import { existenceReplica, type ServiceEvents } from '@mercado/event-bus';
import type { Db, Tx } from '../db.ts';
import { recordPurchases } from './OrderConfirmed.ts';

/** Which products exist, from the catalog's events: a review of any other product is refused. */
const products = existenceReplica<Db, Tx>({ source: 'catalog', table: 'ProductReplica', delegate: (db) => db.productReplica });

export const reviewsEvents: ServiceEvents<Db, Tx> = {
  produces: false,
  handlers: {
    'orders.OrderConfirmed': recordPurchases,
    'catalog.ProductCreated': products.handler,
    'catalog.ProductPriceChanged': products.handler,
    'catalog.ProductSnapshotPublished': products.handler,
  },
  transaction: (db, fn) => db.$transaction(fn),
  // The products it knows of. (Purchases are a set built from OrderConfirmed, not a copy of any state.)
  readModel: products.readModel,
};
