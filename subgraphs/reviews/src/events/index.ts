import { existenceReplica, type PgSql, type ServiceEvents } from '@mercado/event-bus';
import type { Db } from '../db.ts';
import { recordPurchases } from './OrderConfirmed.ts';

/** Which products exist, from the catalog's events: a review of any other product is refused. */
const products = existenceReplica<Db, PgSql>({ source: 'catalog', table: 'ProductReplica', delegate: (db) => db.productReplica });

export const reviewsEvents: ServiceEvents<Db, PgSql> = {
  produces: false,
  handlers: {
    'orders.OrderConfirmed': recordPurchases,
    'catalog.ProductCreated': products.handler,
    'catalog.ProductPriceChanged': products.handler,
    'catalog.ProductSnapshotPublished': products.handler,
  },
  // Every handler is one raw statement: a plain pg transaction does.
  transaction: 'pg',
  // The products it knows of. (Purchases are a set built from OrderConfirmed, not a copy of any state.)
  readModel: products.readModel,
};
