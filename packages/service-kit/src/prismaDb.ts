import { PrismaPg } from '@prisma/adapter-pg';

/** What `createPrismaDb` hands a generated client's constructor. */
export interface PrismaDbOptions {
  adapter: PrismaPg;
  log: Array<{ emit: 'event'; level: 'query' }>;
}

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
    adapter: new PrismaPg({ connectionString: databaseUrl }),
    log: onQuery ? [{ emit: 'event', level: 'query' }] : [],
  });
  if (onQuery) db.$on('query', (e) => onQuery(e.query));
  return db;
}
