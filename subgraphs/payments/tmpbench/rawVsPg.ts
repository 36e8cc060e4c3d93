import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { createTestDatabase } from '@mercado/service-kit/testing';
import { pgSql } from '@mercado/event-bus';
import { createDb } from '../src/db.ts';
import { setCreditLimit } from '../src/domain/accounts.ts';

const migrations = new URL('../../../prisma/payments/migrations', import.meta.url).pathname;
const database = await createTestDatabase('payments', migrations);
const db = createDb(database.url);
const pool = new pg.Pool({ connectionString: database.url, max: 4 });
const id = randomUUID();
await setCreditLimit(db, id, 1000);
const N = 4000;
const cpu = async (label: string, fn: () => Promise<unknown>) => {
  for (let i = 0; i < 500; i++) await fn();
  const c0 = process.cpuUsage(); const t0 = performance.now();
  for (let i = 0; i < N; i++) await fn();
  const c = process.cpuUsage(c0);
  console.log(`${label}: ${((c.user + c.system) / N / 1000).toFixed(3)} ms CPU/statement (node), ${((performance.now() - t0) / N).toFixed(3)} ms wall`);
};
for (let round = 0; round < 2; round++) {
  await cpu('prisma $queryRaw', () => db.$queryRaw`SELECT "customerId", "heldCents" FROM "PaymentAccount" WHERE "customerId" = ${id}::uuid`);
  await cpu('pg pool + pgSql', async () => { const c = await pool.connect(); try { await pgSql(c).$queryRaw`SELECT "customerId", "heldCents" FROM "PaymentAccount" WHERE "customerId" = ${id}::uuid`; } finally { c.release(); } });
  await cpu('prisma $transaction(2 stmts)', () => db.$transaction(async (tx) => { await tx.$queryRaw`SELECT 1 AS "a" FROM "PaymentAccount" WHERE "customerId" = ${id}::uuid`; await tx.$executeRaw`UPDATE "PaymentAccount" SET "heldCents" = "heldCents" WHERE "customerId" = ${id}::uuid`; }));
}
await db.$disconnect(); await pool.end(); await database.drop();
