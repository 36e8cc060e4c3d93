import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient, type Prisma } from './generated/prisma/client.ts';

export type Db = PrismaClient;
/** The client inside an interactive transaction. */
export type Tx = Prisma.TransactionClient;

/** The inventory's own database. `onQuery` sees every SQL statement (tests count them). */
export function createDb(databaseUrl: string, onQuery?: (sql: string) => void): Db {
  const db = new PrismaClient({
    adapter: new PrismaPg({ connectionString: databaseUrl }),
    log: onQuery ? [{ emit: 'event', level: 'query' }] : [],
  });
  if (onQuery) (db as PrismaClient<'query'>).$on('query', (e) => onQuery(e.query));
  return db;
}
