import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedUsers } from '@mercado/dev-seed';
import { createTestDatabase, type TestDatabase } from '@mercado/service-kit/testing';
import type { RunningService } from '@mercado/service-kit';
import { accountsService } from '../src/index.ts';
import type { Db } from '../src/db.ts';
import { graphql, migrations, start, verifyToken } from './helpers.ts';

let database: TestDatabase;
let db: Db;
let service: RunningService;

beforeAll(async () => {
  database = await createTestDatabase('accounts', migrations);
  db = accountsService.createDb(database.url);
  service = await start(db);
});

afterAll(async () => {
  await service?.close();
  await db?.$disconnect();
  await database?.drop();
});

describe('development seed', () => {
  it('is idempotent and keeps existing password hashes', async () => {
    expect(await accountsService.seed(db)).toBe('4 users');
    const first = await db.user.findMany({ orderBy: { id: 'asc' } });
    expect(await accountsService.seed(db)).toBe('4 users');
    const second = await db.user.findMany({ orderBy: { id: 'asc' } });
    expect(second).toHaveLength(seedUsers.length);
    expect(second).toEqual(first);
    expect(second.map((u) => u.id).sort()).toEqual(seedUsers.map((u) => u.id).sort());
  });

  it('lets the seeded admin sign in with the documented password', async () => {
    await accountsService.seed(db);
    const admin = seedUsers.find((u) => u.role === 'admin')!;
    const { body } = await graphql(
      service,
      `mutation($email: String!, $password: String!) { login(email: $email, password: $password) { token user { id role } } }`,
      { email: admin.email, password: admin.password },
    );
    expect(body.errors).toBeUndefined();
    expect(body.data!.login.user).toEqual({ id: admin.id, role: 'ADMIN' });
    const { payload } = await verifyToken(service, body.data!.login.token);
    expect(payload).toMatchObject({ sub: admin.id, role: 'admin' });
  });
});
