import { existenceReplica, type ServiceEvents } from '@mercado/event-bus';
import type { Db, Tx } from '../db.ts';
import { StockSnapshotPublished } from './StockChanged.ts';

/** Which products exist, from the catalog's events: a restock of any other product is refused. */
const products = existenceReplica<Db, Tx>({ source: 'catalog', table: 'ProductReplica', delegate: (db) => db.productReplica });

export const inventoryEvents: ServiceEvents<Db, Tx> = {
  produces: true,
  handlers: {
    'catalog.ProductCreated': products.handler,
    'catalog.ProductPriceChanged': products.handler,
    'catalog.ProductSnapshotPublished': products.handler,
  },
  transaction: (db, fn) => db.$transaction(fn),
  async snapshot(db) {
    const items = await db.stockItem.findMany({ orderBy: { productId: 'asc' } });
    return items.map((s) => StockSnapshotPublished(s.productId, s.version, s));
  },
  readModel: products.readModel,
};
