import { parsePayload, replicaKey, type PgSql, type ServiceEvents } from '@mercado/event-bus';
import type { Db } from '../db.ts';
import { applyStockChanges, stockChanged } from './StockChanged.ts';
import { ProductSnapshotPublished } from './ProductSnapshotPublished.ts';

export const catalogEvents: ServiceEvents<Db, PgSql> = {
  produces: true,
  handlers: {
    'inventory.StockChanged': applyStockChanges,
    'inventory.StockSnapshotPublished': applyStockChanges,
  },
  // Every handler is one raw statement: a plain pg transaction does.
  transaction: 'pg',
  async snapshot(db) {
    const products = await db.product.findMany({ orderBy: { sku: 'asc' } });
    return products.map(ProductSnapshotPublished);
  },
  readModel: {
    sources: ['inventory'],
    clear: async (db) => void (await db.stockReplica.deleteMany()),
    count: (db) => db.stockReplica.count(),
    async rows(db) {
      const stock = await db.stockReplica.findMany();
      return stock.map((s) => ({ key: `inventory:${s.productId}`, version: s.version, fields: { available: s.available } }));
    },
    expect: (event) => ({ key: replicaKey(event), version: event.version, fields: parsePayload(stockChanged, event) }),
  },
};
