#!/usr/bin/env tsx
/**
 * Migrations without Prisma's native engine (see src/schemaEngine.ts).
 *   mercado-migrate new <service> <name>   write prisma/<service>/migrations/<stamp>_<name>
 *   mercado-migrate deploy <service>        apply pending migrations to DATABASE_URL
 */
import { randomBytes } from 'node:crypto';
import { join, resolve } from 'node:path';
import { applyMigrations, createMigration, dropDatabase, ensureDatabase, withDatabase } from './index.ts';

const [command, service, name] = process.argv.slice(2);
const root = resolve(import.meta.dirname, '../../..');
const postgresUrl = process.env.POSTGRES_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';

if (!service || (command === 'new' && !name) || !['new', 'deploy'].includes(command ?? '')) {
  console.error('usage: mercado-migrate new <service> <name> | deploy <service>');
  process.exit(2);
}
const dir = join(root, 'prisma', service);

if (command === 'new') {
  // The engine needs a connection even to diff files; a throwaway database keeps it honest.
  const scratch = withDatabase(postgresUrl, `mercado_scratch_${randomBytes(4).toString('hex')}`);
  await ensureDatabase(scratch);
  try {
    const created = await createMigration({ schemaPath: join(dir, 'schema.prisma'), migrationsDir: join(dir, 'migrations'), name: name!, databaseUrl: scratch });
    console.log(created ? `wrote ${created}/migration.sql` : 'schema unchanged: no migration written');
  } finally {
    await dropDatabase(scratch);
  }
} else {
  const url = process.env.DATABASE_URL ?? withDatabase(postgresUrl, `mercado_${service}`);
  await ensureDatabase(url);
  const applied = await applyMigrations(url, join(dir, 'migrations'));
  console.log(applied.length ? `applied ${applied.join(', ')}` : 'up to date');
}
