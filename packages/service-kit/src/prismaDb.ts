import { statementNames } from '@mercado/event-bus';
import { PrismaPg } from '@prisma/adapter-pg';

/** What `createPrismaDb` hands a generated client's constructor. */
export interface PrismaDbOptions {
  adapter: PrismaPg;
  log: Array<{ emit: 'event'; level: 'query' }>;
  transactionOptions: { maxWait: number; timeout: number };
}

/**
 * Every interactive transaction's limits unless it sets its own: Prisma's defaults (2 s to get a
 * connection, 5 s to finish) fail transactions outright during a burst of CPU (a replica
 * starting beside the others, a rolling update), as INTERNAL_SERVER_ERROR; these stay under the
 * gateway's 10 s subgraph timeout for the wait and under the HTTP drain's grace for the whole.
 */
export const defaultTransactionOptions = { maxWait: 8_000, timeout: 15_000 };

/**
 * A service's generated `PrismaClient` class, seen through what `createPrismaDb` uses of it:
 * the constructor and the query event. Each service generates its own class (its own models),
 * so the helper takes the class rather than importing one.
 */
export type PrismaClientClass<TDb> = new (options: PrismaDbOptions) => TDb & {
  $on(eventType: 'query', callback: (event: { query: string }) => void): unknown;
};

/**
 * A service's own database through Prisma 7's driver adapter for `pg`. `onQuery` sees every
 * SQL statement (tests count them); without it Prisma logs nothing.
 */
export function createPrismaDb<TDb>(Client: PrismaClientClass<TDb>, databaseUrl: string, onQuery?: (sql: string) => void): TDb {
  const db = new Client({
    // Each distinct statement prepared once per connection (preparedStatements.ts says why and when not).
    adapter: new PrismaPg({ connectionString: databaseUrl }, { statementNameGenerator: (query) => statementNames.of(query.sql) as string }),
    log: onQuery ? [{ emit: 'event', level: 'query' }] : [],
    transactionOptions: defaultTransactionOptions,
  });
  if (onQuery) db.$on('query', (e) => onQuery(e.query));
  return db;
}
