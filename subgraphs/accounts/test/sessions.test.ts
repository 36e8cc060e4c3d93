import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isSessionRevoked, notBeforeKey, sessionStart, type RunningService } from '@mercado/service-kit';
import { createTestDatabase, type TestDatabase } from '@mercado/service-kit/testing';
import { createDb, type Db } from '../src/db.ts';
import { deleteSignInKeys } from '../src/domain/signInThrottle.ts';
import { graphql, migrations, start } from './helpers.ts';

/** Against the real Redis, under a prefix of this file's own. */
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = `mercado-test-${randomBytes(5).toString('hex')}`;
const redis = new Redis(redisUrl);
let database: TestDatabase;
let db: Db;
let service: RunningService;
let offline: RunningService;

beforeAll(async () => {
  database = await createTestDatabase('accounts', migrations);
  db = createDb(database.url);
  service = await start(db, { sessions: { redisUrl, prefix }, signInThrottle: { redisUrl, keyPrefix: `${prefix}:accounts:sign-in` } });
  offline = await start(db);
});
afterAll(async () => {
  await service?.close();
  await offline?.close();
  await db?.$disconnect();
  await database?.drop();
  await deleteSignInKeys(redisUrl, prefix);
  redis.disconnect();
});

const REGISTER = 'mutation($input: RegisterInput!) { register(input: $input) { token user { id } } }';
const CHANGE = 'mutation($c: String!, $n: String!) { changePassword(currentPassword: $c, newPassword: $n) { token user { id } } }';
const LOGIN = 'mutation($email: String!, $password: String!) { login(email: $email, password: $password) { token } }';

async function newUser() {
  const email = `sessions-${randomBytes(4).toString('hex')}@example.test`;
  const { body } = await graphql(service, REGISTER, { input: { email, name: 'Sessions', password: 'the first password' } });
  const { token, user } = body.data!.register;
  return { email, token: token as string, viewer: { id: user.id as string, role: 'customer' as const } };
}

describe('sessions', () => {
  it('stamps each token with the time its sign-in happened', async () => {
    const before = Date.now();
    const { token } = await newUser();
    const started = sessionStart(decodeJwt(token));
    expect(started).toBeGreaterThanOrEqual(before);
    expect(started).toBeLessThanOrEqual(Date.now());
  });

  it('ends every earlier session on a password change and signs in again, with a token that outlives them', async () => {
    const { email, token, viewer } = await newUser();
    const wrong = await graphql(service, CHANGE, { c: 'not the password', n: 'the second password' }, viewer);
    expect(wrong.body.errors?.[0]?.extensions?.code).toBe('INVALID_CREDENTIALS');
    expect(await isSessionRevoked(redis, prefix, viewer.id, sessionStart(decodeJwt(token)))).toBe(false);

    const changed = await graphql(service, CHANGE, { c: 'the first password', n: 'the second password' }, viewer);
    expect(changed.body.errors).toBeUndefined();
    const fresh = changed.body.data!.changePassword.token as string;
    expect(await isSessionRevoked(redis, prefix, viewer.id, sessionStart(decodeJwt(token)))).toBe(true);
    expect(await isSessionRevoked(redis, prefix, viewer.id, sessionStart(decodeJwt(fresh)))).toBe(false);
    expect(await redis.ttl(notBeforeKey(prefix, viewer.id))).toBeGreaterThan(3600);

    expect((await graphql(service, LOGIN, { email, password: 'the first password' })).body.errors?.[0]?.extensions?.code).toBe('INVALID_CREDENTIALS');
    expect((await graphql(service, LOGIN, { email, password: 'the second password' })).body.errors).toBeUndefined();
  });

  it('refuses a short new password and anonymous callers', async () => {
    const { viewer } = await newUser();
    expect((await graphql(service, CHANGE, { c: 'the first password', n: 'short' }, viewer)).body.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'newPassword' });
    expect((await graphql(service, CHANGE, { c: 'the first password', n: 'long enough password' })).body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect((await graphql(service, 'mutation { signOut }')).body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('signs out of every session', async () => {
    const { token, viewer } = await newUser();
    expect((await graphql(service, 'mutation { signOut }', {}, viewer)).body).toEqual({ data: { signOut: true } });
    expect(await isSessionRevoked(redis, prefix, viewer.id, sessionStart(decodeJwt(token)))).toBe(true);
  });

  it('says so when it cannot record a sign-out, rather than pretending', async () => {
    const { viewer } = await newUser();
    expect((await graphql(offline, 'mutation { signOut }', {}, viewer)).body.errors?.[0]?.extensions?.code).toBe('SERVICE_UNAVAILABLE');
  });
});
