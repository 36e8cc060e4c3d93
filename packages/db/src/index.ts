export { applyMigrations, createMigration, readMigrations } from './migrations.ts';
export { dropDatabase, ensureDatabase, withDatabase } from './databases.ts';
