import { createPrismaDb } from '@mercado/service-kit';
import { PrismaClient, type Prisma } from './generated/prisma/client.ts';

export type Db = PrismaClient;
/** The client inside an interactive transaction. */
export type Tx = Prisma.TransactionClient;

/** The payments service's own database. `onQuery` sees every SQL statement (tests count them). */
export const createDb = (databaseUrl: string, onQuery?: (sql: string) => void): Db => createPrismaDb(PrismaClient, databaseUrl, onQuery);
