import { appendToOutbox, type ServiceEvents } from '@mercado/event-bus';
import type { Db } from '../db.ts';
import { StockSnapshotPublished } from './StockChanged.ts';

export const inventoryEvents: ServiceEvents<Db> = {
  produces: true,
  async republish(db) {
    const items = await db.stockItem.findMany({ orderBy: { productId: 'asc' } });
    for (let i = 0; i < items.length; i += 500) {
      await db.$transaction((tx) => appendToOutbox(tx, ...items.slice(i, i + 500).map((s) => StockSnapshotPublished(s.productId, s.version, s))));
    }
    return items.length;
  },
};
