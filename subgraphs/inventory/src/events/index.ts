import type { ServiceEvents } from '@mercado/event-bus';
import type { Db } from '../db.ts';
import { StockSnapshotPublished } from './StockChanged.ts';

export const inventoryEvents: ServiceEvents<Db> = {
  produces: true,
  async snapshot(db) {
    const items = await db.stockItem.findMany({ orderBy: { productId: 'asc' } });
    return items.map((s) => StockSnapshotPublished(s.productId, s.version, s));
  },
};
