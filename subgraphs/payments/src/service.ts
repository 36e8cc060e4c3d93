import { loadSchemaFile, startSubgraph, type SubgraphRuntime } from '@mercado/service-kit';
import { createContext } from './context.ts';
import type { Db } from './db.ts';
import { DEFAULT_CREDIT_LIMIT_CENTS } from './domain/accounts.ts';
import { resolvers } from './resolvers/index.ts';

export const typeDefs = loadSchemaFile(new URL('../schema.graphql', import.meta.url));

export interface PaymentsOptions {
  /** The credit shown for, and later given to, a customer without an account yet. */
  defaultCreditLimitCents?: number;
}

/** Starts the payments subgraph on an open database; used by main.ts and by tests. */
export function startPayments(db: Db, runtime: SubgraphRuntime, options: PaymentsOptions = {}) {
  const defaultCreditLimitCents = options.defaultCreditLimitCents ?? DEFAULT_CREDIT_LIMIT_CENTS;
  return startSubgraph(
    { name: 'payments', typeDefs, resolvers, context: (internal) => createContext(db, internal, defaultCreditLimitCents) },
    runtime,
  );
}
