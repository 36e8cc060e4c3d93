import type { ServiceEvents } from '@mercado/event-bus';
import type { Db, Tx } from '../db.ts';
import { recordPurchases } from './OrderConfirmed.ts';

export const reviewsEvents: ServiceEvents<Db, Tx> = {
  produces: false,
  handlers: { 'orders.OrderConfirmed': recordPurchases },
  transaction: (db, fn) => db.$transaction(fn),
};
