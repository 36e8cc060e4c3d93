import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { hasUnmigratedChanges } from '../src/index.ts';

const prismaDir = fileURLToPath(new URL('../../../prisma', import.meta.url));
const services = readdirSync(prismaDir, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);

describe("every service's Prisma schema", () => {
  it.each(services)('%s has a migration for every change (run `npm run migrate:new -- <service> <name>`)', async (service) => {
    const dir = join(prismaDir, service);
    expect(await hasUnmigratedChanges(join(dir, 'schema.prisma'), join(dir, 'migrations'))).toBe(false);
  });
});
