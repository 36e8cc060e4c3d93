import DataLoader from 'dataloader';
import type { InternalContext, Viewer } from '@mercado/service-kit';
import type { Db } from './db.ts';
import { accountsByCustomerIds, type PaymentAccount } from './domain/accounts.ts';
import { paymentsByOrderIds } from './domain/paymentRecords.ts';
import type { Payment } from './domain/payments.ts';

export interface PaymentsContext {
  db: Db;
  viewer: Viewer | null;
  /** What a customer without an account is shown. */
  defaultCreditLimitCents: number;
  /** Request-scoped, so N users' accounts cost one query. */
  accountByCustomerId: DataLoader<string, PaymentAccount | null>;
  /** Request-scoped, so N orders' payments cost one query. */
  paymentByOrderId: DataLoader<string, Payment | null>;
}

export function createContext(db: Db, internal: InternalContext, defaultCreditLimitCents: number): PaymentsContext {
  return {
    db,
    viewer: internal.viewer,
    defaultCreditLimitCents,
    accountByCustomerId: new DataLoader((ids) => accountsByCustomerIds(db, ids)),
    paymentByOrderId: new DataLoader((ids) => paymentsByOrderIds(db, ids)),
  };
}
