import { appendToOutbox, type ServiceEvents } from '@mercado/event-bus';
import type { Db, Tx } from '../db.ts';
import { applyStockChanges } from './StockChanged.ts';
import { ProductSnapshotPublished } from './ProductSnapshotPublished.ts';

export const catalogEvents: ServiceEvents<Db, Tx> = {
  produces: true,
  handlers: {
    'inventory.StockChanged': applyStockChanges,
    'inventory.StockSnapshotPublished': applyStockChanges,
  },
  transaction: (db, fn) => db.$transaction(fn),
  async republish(db) {
    const products = await db.product.findMany({ orderBy: { sku: 'asc' } });
    for (let i = 0; i < products.length; i += 500) {
      await db.$transaction((tx) => appendToOutbox(tx, ...products.slice(i, i + 500).map(ProductSnapshotPublished)));
    }
    return products.length;
  },
  readModel: {
    sources: ['inventory'],
    clear: async (db) => void (await db.stockReplica.deleteMany()),
    count: (db) => db.stockReplica.count(),
  },
};
