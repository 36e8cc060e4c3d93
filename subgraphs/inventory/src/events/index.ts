import { existenceReplica, type PgSql, type ServiceEvents } from '@mercado/event-bus';
import type { Db } from '../db.ts';
import { StockSnapshotPublished } from './StockChanged.ts';

/** Which products exist, from the catalog's events: a restock of any other product is refused. */
const products = existenceReplica<Db, PgSql>({ source: 'catalog', table: 'ProductReplica', delegate: (db) => db.productReplica });

export const inventoryEvents: ServiceEvents<Db, PgSql> = {
  produces: true,
  handlers: {
    'catalog.ProductCreated': products.handler,
    'catalog.ProductPriceChanged': products.handler,
    'catalog.ProductSnapshotPublished': products.handler,
  },
  // Every handler is one raw statement: a plain pg transaction does.
  transaction: 'pg',
  async snapshot(db) {
    const items = await db.stockItem.findMany({ orderBy: { productId: 'asc' } });
    return items.map((s) => StockSnapshotPublished(s.productId, s.version, s));
  },
  readModel: products.readModel,
};
