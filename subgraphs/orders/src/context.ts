import DataLoader from 'dataloader';
import type { InternalContext, Viewer } from '@mercado/service-kit';
import type { Db } from './db.ts';
import { linesByOrderIds, ordersByIds, recentOrdersByUserIds, type Order, type OrderLine } from './domain/orders.ts';

export interface OrdersContext {
  db: Db;
  viewer: Viewer | null;
  /** Request-scoped, so N entity references cost one query. */
  orderById: DataLoader<string, Order | null>;
  /** Lines of every order resolved in the request, in one query. */
  linesByOrderId: DataLoader<string, OrderLine[]>;
  /** `User.orders(first)` for N users in one query; one loader per page size, since the query's limit depends on it. */
  recentOrdersByUserId: (first: number) => DataLoader<string, Order[]>;
}

export function createContext(db: Db, internal: InternalContext): OrdersContext {
  const recentByFirst = new Map<number, DataLoader<string, Order[]>>();
  return {
    db,
    viewer: internal.viewer,
    orderById: new DataLoader((ids) => ordersByIds(db, ids)),
    linesByOrderId: new DataLoader((ids) => linesByOrderIds(db, ids)),
    recentOrdersByUserId: (first) => {
      let loader = recentByFirst.get(first);
      if (!loader) recentByFirst.set(first, (loader = new DataLoader((ids) => recentOrdersByUserIds(db, ids, first))));
      return loader;
    },
  };
}
