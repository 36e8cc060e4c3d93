import type pg from 'pg';
import { preparedQuery as prepared } from './preparedStatements.ts';

/**
 * Prisma's raw-SQL methods over a plain pg client, for code that moves events without Prisma's
 * interactive transaction: the consumers whose handlers are raw SQL (`transaction: 'pg'`), the
 * event-bus tests, the events benchmark. Values become $n parameters exactly as Prisma sends
 * them; arrays go as PostgreSQL arrays.
 */
export interface PgSql {
  $executeRaw(strings: TemplateStringsArray, ...values: unknown[]): Promise<number>;
  $queryRaw<T = unknown>(strings: TemplateStringsArray, ...values: unknown[]): Promise<T>;
  /** A statement whose text is built by the caller (a checked table name), with $n parameters. */
  $executeRawUnsafe(query: string, ...values: unknown[]): Promise<number>;
}

const toText = (strings: TemplateStringsArray) => strings.reduce((acc, s, i) => acc + (i > 0 ? `$${i}` : '') + s, '');

export function pgSql(client: pg.ClientBase): PgSql {
  return {
    async $executeRaw(strings, ...values) {
      return (await client.query(prepared(toText(strings), values))).rowCount ?? 0;
    },
    async $queryRaw<T>(strings: TemplateStringsArray, ...values: unknown[]) {
      return (await client.query(prepared(toText(strings), values))).rows as T;
    },
    async $executeRawUnsafe(query, ...values) {
      return (await client.query(prepared(query, values))).rowCount ?? 0;
    },
  };
}

/** Runs fn in one transaction on a connection of the pool, like Prisma's interactive $transaction. */
export function pgTransaction(pool: pg.Pool) {
  return async <T>(fn: (tx: PgSql) => Promise<T>): Promise<T> => {
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      const result = await fn(pgSql(client));
      await client.query('COMMIT');
      return result;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      throw err;
    } finally {
      client.release();
    }
  };
}
