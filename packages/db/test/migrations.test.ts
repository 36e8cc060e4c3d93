import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { mkdir } from 'node:fs/promises';
import { applyMigrations, createMigration, dropDatabase, ensureDatabase, semicolonsInComments, withDatabase } from '../src/index.ts';

const server = process.env.POSTGRES_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
const url = withDatabase(server, `mercado_test_${randomBytes(5).toString('hex')}_db`);
afterAll(() => dropDatabase(url));

const schema = (fields: string) => `datasource db {\n  provider = "postgresql"\n}\n\nmodel Thing {\n  id Int @id\n${fields}}\n`;

describe('migrations through the wasm schema engine', () => {
  it('creates, applies once, and diffs only what changed', async () => {
    expect(await ensureDatabase(url)).toBe(true);
    expect(await ensureDatabase(url)).toBe(false);
    const dir = await mkdtemp(join(tmpdir(), 'mercado-migrations-'));
    const schemaPath = join(dir, 'schema.prisma');
    const migrationsDir = join(dir, 'migrations');

    await writeFile(schemaPath, schema('  name String\n'));
    const first = await createMigration({ schemaPath, migrationsDir, name: 'init', databaseUrl: url, now: new Date('2026-01-01T00:00:00Z') });
    expect(first).toMatch(/20260101000000_init$/);
    expect(await readFile(join(first!, 'migration.sql'), 'utf8')).toMatch(/CREATE TABLE "Thing"/);
    expect(await createMigration({ schemaPath, migrationsDir, name: 'noop', databaseUrl: url })).toBeUndefined();

    await writeFile(schemaPath, schema('  name String\n  size Int?\n'));
    const second = await createMigration({ schemaPath, migrationsDir, name: 'size', databaseUrl: url, now: new Date('2026-01-02T00:00:00Z') });
    expect(await readFile(join(second!, 'migration.sql'), 'utf8')).toMatch(/ADD COLUMN\s+"size" INTEGER/);
    expect((await readdir(migrationsDir)).sort()).toEqual(['20260101000000_init', '20260102000000_size', 'migration_lock.toml', 'schema.snapshot.prisma']);

    expect(await applyMigrations(url, migrationsDir)).toEqual(['20260101000000_init', '20260102000000_size']);
    expect(await applyMigrations(url, migrationsDir)).toEqual([]);

    const client = new pg.Client({ connectionString: url });
    await client.connect();
    const { rows } = await client.query(`select column_name from information_schema.columns where table_name = 'Thing' order by column_name`);
    const recorded = await client.query(`select migration_name from _prisma_migrations where finished_at is not null order by migration_name`);
    await client.end();
    expect(rows.map((r) => r.column_name)).toEqual(['id', 'name', 'size']);
    expect(recorded.rows.map((r) => r.migration_name)).toEqual(['20260101000000_init', '20260102000000_size']);
  });

  it('refuses a migration with a semicolon in a -- comment, naming the file and line, before the engine splits it there', async () => {
    expect(semicolonsInComments('-- plain comment\nCREATE TABLE "A" ("id" INT); -- trailing, no semicolon\nSELECT \';\';')).toEqual([]);
    expect(semicolonsInComments('-- first; second\nCREATE TABLE "A" ("id" INT);\n  -- one more; here')).toEqual([1, 3]);
    const migrationsDir = await mkdtemp(join(tmpdir(), 'mercado-migrations-'));
    await mkdir(join(migrationsDir, '20260103000000_commented'));
    await writeFile(join(migrationsDir, '20260103000000_commented', 'migration.sql'), '-- drop it; nothing reads it\nCREATE TABLE "Other" ("id" INT);\n');
    await expect(applyMigrations(url, migrationsDir)).rejects.toThrow(/20260103000000_commented\/migration\.sql line 1: a semicolon in a -- comment/);
  });
});
