import { preparedQuery, statementNames } from '@mercado/event-bus';
import { inSpan, SpanKind, tracingActive } from '@mercado/telemetry';
import { PrismaPg } from '@prisma/adapter-pg';
import { Sql } from '@prisma/client/runtime/client';
import pg from 'pg';

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

/** `directSql` of each client `createPrismaDb` made: its statements on the pool under it. */
const direct = new WeakMap<object, RawQuery>();

/**
 * A service's own database through Prisma 7's driver adapter for `pg`. `onQuery` sees every
 * SQL statement (tests count them); without it Prisma logs nothing. The adapter runs on a pool
 * made here, which `directSql` shares.
 */
export function createPrismaDb<TDb>(Client: PrismaClientClass<TDb>, databaseUrl: string, onQuery?: (sql: string) => void): TDb {
  const pool = new pg.Pool({ connectionString: databaseUrl });
  // An idle connection that fails is dropped by the pool and the next query opens another; the
  // adapter listens too, but only once Prisma has connected, which `directSql` does not wait for.
  pool.on('error', () => {});
  const db = new Client({
    // Each distinct statement prepared once per connection (event-bus's preparedStatements.ts says
    // why and when not); $disconnect ends the pool.
    adapter: new PrismaPg(pool, { statementNameGenerator: (query) => statementNames.of(query.sql) as string, disposeExternalPool: true }),
    log: onQuery ? [{ emit: 'event', level: 'query' }] : [],
    transactionOptions: defaultTransactionOptions,
  });
  if (onQuery) db.$on('query', (e) => onQuery(e.query));
  direct.set(db as object, rawQueryOn(pool, new URL(databaseUrl).pathname.slice(1), onQuery));
  return db;
}

/** What a hot path asks of its database: Prisma's `$queryRaw`, same calls, same SQL. */
export interface RawQuery {
  $queryRaw<T = unknown>(query: TemplateStringsArray | Sql, ...values: unknown[]): Promise<T>;
}

// Results as Prisma's raw queries give them where node-postgres differs: `timestamp` columns
// (Prisma's DateTime) are UTC, not the process's local time, and int8 is a bigint.
const utcTimestamp = (text: string) => new Date(`${text.replace(' ', 'T')}Z`);
const parsers: Record<number, (text: string) => unknown> = { 1114: utcTimestamp, 20: BigInt };
const types = { getTypeParser: (oid: number, format?: string) => parsers[oid] ?? pg.types.getTypeParser(oid, format as 'text') };
// Parameters as Prisma's adapter sends them: a Date as its UTC wall clock (a `timestamp`
// column has no zone), anything else as node-postgres does (objects as JSON, arrays as arrays).
const param = (value: unknown): unknown => (value instanceof Date ? value.toISOString() : Array.isArray(value) ? value.map(param) : value);

/**
 * `$queryRaw` straight on the pool under a client of `createPrismaDb`, for statements a service
 * runs for every order (a saga's move, a participant's command): Prisma's query machinery costs
 * about 0.08 ms of CPU per statement more than the statement's own round trip through `pg`
 * (docs/performance.md, run 7), and a saga runs a dozen of them. Same SQL, same parameters,
 * same prepared statement names; `onQuery` still sees it, and traces get a client span for it.
 * Inside a transaction (or on a client made elsewhere) it is the client's own `$queryRaw`, so the
 * statement stays in the transaction.
 */
export function directSql(db: RawQuery): RawQuery {
  return direct.get(db as object) ?? db;
}

function rawQueryOn(pool: pg.Pool, database: string, onQuery?: (sql: string) => void): RawQuery {
  return {
    async $queryRaw<T>(query: TemplateStringsArray | Sql, ...values: unknown[]): Promise<T> {
      const sql = query instanceof Sql ? query : new Sql(query, values);
      const text = sql.text;
      onQuery?.(text);
      const run = async () => (await pool.query({ ...preparedQuery(text, sql.values.map(param)), types })).rows as T;
      if (!tracingActive()) return run();
      // A client span as OpenTelemetry's database conventions name it (Prisma's own spans do not
      // see these statements).
      const operation = /^\s*(\w+)/.exec(text)?.[1]?.toUpperCase() ?? 'SQL';
      const attributes = { 'db.system.name': 'postgresql', 'db.namespace': database, 'db.operation.name': operation, 'db.query.text': text };
      return inSpan(`${operation} ${database}`, { kind: SpanKind.CLIENT, attributes }, run);
    },
  };
}
