import DataLoader from 'dataloader';
import type { InternalContext, Viewer } from '@mercado/service-kit';
import type { Db } from './db.ts';
import type { TokenIssuer } from './domain/tokens.ts';
import { usersByIds, type User } from './domain/users.ts';

export interface AccountsContext {
  db: Db;
  viewer: Viewer | null;
  tokens: TokenIssuer;
  /** Request-scoped, so N entity references cost one query. */
  userById: DataLoader<string, User | null>;
}

export function createContext(db: Db, internal: InternalContext, tokens: TokenIssuer): AccountsContext {
  return {
    db,
    viewer: internal.viewer,
    tokens,
    userById: new DataLoader((ids) => usersByIds(db, ids)),
  };
}
