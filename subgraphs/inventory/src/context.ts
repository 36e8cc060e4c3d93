import DataLoader from 'dataloader';
import type { InternalContext, Viewer } from '@mercado/service-kit';
import type { Db } from './db.ts';
import { stockByProductIds, type Stock } from './domain/stock.ts';

export interface InventoryContext {
  db: Db;
  viewer: Viewer | null;
  /** Request-scoped, so the stock of N products costs one query. */
  stockByProductId: DataLoader<string, Stock>;
}

export function createContext(db: Db, internal: InternalContext): InventoryContext {
  return {
    db,
    viewer: internal.viewer,
    stockByProductId: new DataLoader((ids) => stockByProductIds(db, ids)),
  };
}
