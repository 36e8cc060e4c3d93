import DataLoader from 'dataloader';
import type { InternalContext, Viewer } from '@mercado/service-kit';
import type { Db } from './db.ts';
import { inStockByIds, productsByIds, type Product } from './domain/products.ts';

export interface CatalogContext {
  db: Db;
  viewer: Viewer | null;
  /** Request-scoped, so N entity references cost one query. */
  productById: DataLoader<string, Product | null>;
  inStock: DataLoader<string, boolean>;
}

export function createContext(db: Db, internal: InternalContext): CatalogContext {
  return {
    db,
    viewer: internal.viewer,
    productById: new DataLoader((ids) => productsByIds(db, ids)),
    inStock: new DataLoader((ids) => inStockByIds(db, ids)),
  };
}
