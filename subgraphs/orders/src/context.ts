import DataLoader from 'dataloader';
import type { InternalContext, Viewer } from '@mercado/service-kit';
import type { SagaBus } from '@mercado/saga';
import type { Db } from './db.ts';
import { latestSagasByOrderIds, type SagaWithSteps } from './domain/sagas.ts';
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
  /** The latest saga of each order, with its steps, in one query. */
  sagaByOrderId: DataLoader<string, SagaWithSteps | null>;
  /** Where placeOrder and cancelOrder send their first saga command; null without Redis. */
  sagas: SagaDispatcher | null;
}

export interface SagaDispatcher {
  bus: SagaBus;
  stepTimeoutMs: number;
}

export function createContext(db: Db, internal: InternalContext, sagas: SagaDispatcher | null = null): OrdersContext {
  const recentByFirst = new Map<number, DataLoader<string, Order[]>>();
  return {
    db,
    viewer: internal.viewer,
    orderById: new DataLoader((ids) => ordersByIds(db, ids)),
    linesByOrderId: new DataLoader((ids) => linesByOrderIds(db, ids)),
    sagaByOrderId: new DataLoader((ids) => latestSagasByOrderIds(db, ids)),
    sagas,
    recentOrdersByUserId: (first) => {
      let loader = recentByFirst.get(first);
      if (!loader) recentByFirst.set(first, (loader = new DataLoader((ids) => recentOrdersByUserIds(db, ids, first))));
      return loader;
    },
  };
}
