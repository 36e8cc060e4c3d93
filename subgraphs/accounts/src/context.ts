import DataLoader from 'dataloader';
import type { InternalContext, Viewer } from '@mercado/service-kit';
import type { Db } from './db.ts';
import type { SignInThrottle } from './domain/signInThrottle.ts';
import type { TokenIssuer } from './domain/tokens.ts';
import { usersByIds, type User } from './domain/users.ts';

export interface AccountsContext {
  db: Db;
  viewer: Viewer | null;
  tokens: TokenIssuer;
  signInThrottle: SignInThrottle;
  /** The client's address as the gateway saw it ('' when not forwarded). */
  clientAddress: string;
  /** Request-scoped, so N entity references cost one query. */
  userById: DataLoader<string, User | null>;
}

export function createContext(db: Db, internal: InternalContext, tokens: TokenIssuer, signInThrottle: SignInThrottle): AccountsContext {
  return {
    db,
    viewer: internal.viewer,
    tokens,
    signInThrottle,
    clientAddress: internal.clientAddress ?? '',
    userById: new DataLoader((ids) => usersByIds(db, ids)),
  };
}
