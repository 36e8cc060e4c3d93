export { applyMigrations, createMigration, hasUnmigratedChanges, readMigrations, semicolonsInComments, SNAPSHOT_FILE } from './migrations.ts';
export { dropDatabase, ensureDatabase, withDatabase } from './databases.ts';
