export { applyMigrations, createMigration, hasUnmigratedChanges, readMigrations, SNAPSHOT_FILE } from './migrations.ts';
export { dropDatabase, ensureDatabase, withDatabase } from './databases.ts';
