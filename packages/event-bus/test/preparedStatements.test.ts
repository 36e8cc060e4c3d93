import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pgSql, StatementNames, statementNames } from '../src/index.ts';
import { createEventDatabases } from './harness.ts';

let dbs: Awaited<ReturnType<typeof createEventDatabases>>;
let client: pg.Client;

beforeAll(async () => {
  dbs = await createEventDatabases();
  client = new pg.Client({ connectionString: dbs.consumerUrl });
  await client.connect();
});

afterAll(async () => {
  await client?.end();
  await dbs?.drop();
});

/** What this connection has prepared (PostgreSQL lists named statements only). */
const prepared = async () => (await client.query<{ name: string; statement: string }>('SELECT name, statement FROM pg_prepared_statements')).rows;

describe('prepared statements', () => {
  it('a statement sent through pgSql is prepared once on its connection and then only executed', async () => {
    const sql = pgSql(client);
    for (let i = 0; i < 3; i++) await sql.$executeRaw`INSERT INTO "ItemReplica" ("id", "value", "version") VALUES (${`item-${i}`}, ${i}, 1)`;
    const mine = (await prepared()).filter((s) => s.statement.includes('INSERT INTO "ItemReplica"'));
    expect(mine).toHaveLength(1);
    expect(mine[0]!.name).toBe(statementNames.of(mine[0]!.statement));
    expect((await client.query('SELECT count(*)::int AS n FROM "ItemReplica"')).rows[0].n).toBe(3);
  });

  it('names at most `limit` distinct texts; later ones go unnamed, and the same text keeps its name', () => {
    const names = new StatementNames(2, true);
    expect(names.of('SELECT 1')).toBe('mercado_0');
    expect(names.of('SELECT 2')).toBe('mercado_1');
    expect(names.of('SELECT 3')).toBeUndefined();
    expect(names.of('SELECT 1')).toBe('mercado_0');
  });

  it('leaves unnamed a text as long as its list of values (one text per length would each hold a plan)', () => {
    const names = new StatementNames(500, true);
    expect(names.of('SELECT "id" FROM "Payment" WHERE "orderId" IN ($1,$2) OFFSET $3')).toBeUndefined();
    expect(names.of('INSERT INTO "OrderLine" ("a", "b") VALUES ($1,$2),($3,$4)')).toBeUndefined();
    expect(names.of('SELECT "id" FROM "Payment" WHERE "orderId" IN ($1) OFFSET $2')).toBe('mercado_0');
    expect(names.of('SELECT * FROM unnest($1::uuid[], $2::int[]) AS w("id", "n")')).toBe('mercado_1');
    expect(names.size).toBe(2);
  });

  it('DATABASE_PREPARED_STATEMENTS=false (a pooler in transaction mode) names nothing', () => {
    expect(new StatementNames(500, false).of('SELECT 1')).toBeUndefined();
    const previous = process.env.DATABASE_PREPARED_STATEMENTS;
    process.env.DATABASE_PREPARED_STATEMENTS = 'false';
    try {
      expect(new StatementNames().of('SELECT 1')).toBeUndefined();
    } finally {
      if (previous === undefined) delete process.env.DATABASE_PREPARED_STATEMENTS;
      else process.env.DATABASE_PREPARED_STATEMENTS = previous;
    }
  });
});
