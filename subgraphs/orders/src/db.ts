import { createPrismaDb } from '@mercado/service-kit';
import { PrismaClient, type Prisma } from './generated/prisma/client.ts';

export type Db = PrismaClient;
/** The client inside an interactive transaction. */
export type Tx = Prisma.TransactionClient;

/**
 * For transactions that come in bursts (many orders placed at once, a queue of saga replies):
 * they wait for one of the pool's connections, which holds no lock, so that wait may last well
 * beyond Prisma's 2 s default instead of failing the request; the gateway's timeout bounds it.
 */
export const burstTransactionOptions = { maxWait: 30_000, timeout: 15_000 };

/** The orders service's own database. `onQuery` sees every SQL statement (tests count them). */
export const createDb = (databaseUrl: string, onQuery?: (sql: string) => void): Db => createPrismaDb(PrismaClient, databaseUrl, onQuery);
