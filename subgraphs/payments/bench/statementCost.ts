/**
 * `npm run bench:statements`: the Node CPU one statement costs through Prisma's `$queryRaw`
 * against the same statement through service-kit's `directSql` (the pool under the Prisma
 * client) and against a plain pg client, in one process against the local PostgreSQL, on a
 * database of its own with payments' schema (dropped at the end). Why directSql exists: the
 * statements a saga runs for every order (docs/performance.md, run 7).
 *
 * Each round runs every way 4,000 times after 500 to warm up, alternating; CPU is this
 * process's own (process.cpuUsage), so PostgreSQL's share and other sessions' load do not count.
 * Wrap it in `flock /tmp/mercado-bench.lock` on a shared machine.
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { directSql } from '@mercado/service-kit';
import { createTestDatabase } from '@mercado/service-kit/testing';
import { createDb } from '../src/db.ts';
import { setCreditLimit } from '../src/domain/accounts.ts';

const migrations = new URL('../../../prisma/payments/migrations', import.meta.url).pathname;
const database = await createTestDatabase('payments', migrations);
const db = createDb(database.url);
const client = new pg.Client({ connectionString: database.url });
await client.connect();
const customerId = randomUUID();
await setCreditLimit(db, customerId, 1000);
const runs = 4_000;

/** Node CPU ms per call of `fn`, after a warm-up. */
async function cpuPerCall(fn: () => Promise<unknown>): Promise<number> {
  for (let i = 0; i < 500; i++) await fn();
  const start = process.cpuUsage();
  for (let i = 0; i < runs; i++) await fn();
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1000 / runs;
}

const ways: Array<[string, () => Promise<unknown>]> = [
  ["Prisma's $queryRaw", () => db.$queryRaw`SELECT "customerId", "heldCents" FROM "PaymentAccount" WHERE "customerId" = ${customerId}::uuid`],
  ['directSql (the same call)', () => directSql(db).$queryRaw`SELECT "customerId", "heldCents" FROM "PaymentAccount" WHERE "customerId" = ${customerId}::uuid`],
  ['a pg client, prepared', () => client.query({ name: 'account', text: 'SELECT "customerId", "heldCents" FROM "PaymentAccount" WHERE "customerId" = $1::uuid', values: [customerId] })],
];
try {
  console.log(`Node ${process.versions.node}: ms of this process's CPU per one-row SELECT, ${runs} per way and round\n`);
  console.log('| round | ' + ways.map(([name]) => name).join(' | ') + ' |');
  console.log('| --- |' + ' --- |'.repeat(ways.length));
  for (let round = 1; round <= 3; round++) {
    const costs: number[] = [];
    for (const [, fn] of ways) costs.push(await cpuPerCall(fn));
    console.log(`| ${round} | ` + costs.map((c) => `${c.toFixed(3)} (${(c / costs[0]!).toFixed(2)}x)`).join(' | ') + ' |');
  }
} finally {
  await client.end();
  await db.$disconnect();
  await database.drop();
}
