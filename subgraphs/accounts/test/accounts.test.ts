import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postGraphQL, createTestDatabase, type TestDatabase } from '@mercado/service-kit/testing';
import type { RunningService } from '@mercado/service-kit';
import { createDb, type Db } from '../src/db.ts';
import { fetchJwks, graphql, migrations, start, userRow, verifyToken } from './helpers.ts';

let database: TestDatabase;
let db: Db;
let service: RunningService;
const sql: string[] = [];

beforeAll(async () => {
  database = await createTestDatabase('accounts', migrations);
  db = createDb(database.url, (q) => sql.push(q));
  service = await start(db);
});

afterAll(async () => {
  await service?.close();
  await db?.$disconnect();
  await database?.drop();
});

const REGISTER = `mutation($input: RegisterInput!) { register(input: $input) { token expiresAt user { id name email role } } }`;
const LOGIN = `mutation($email: String!, $password: String!) { login(email: $email, password: $password) { token expiresAt user { id email role } } }`;
const USERS = `query($reps: [_Any!]!) { _entities(representations: $reps) { ... on User { id name email role } } }`;

let emails = 0;
const uniqueEmail = () => `person${++emails}-${Date.now()}@Example.test`;
const register = (input: Record<string, unknown>) => graphql(service, REGISTER, { input });

describe('register and login', () => {
  it('registers a customer, normalises the email and signs them in with a verifiable token', async () => {
    const email = uniqueEmail();
    const { body } = await register({ email: `  ${email} `, name: ' Dana ', password: 'correct horse battery' });
    expect(body.errors).toBeUndefined();
    const payload = body.data!.register;
    expect(payload.user).toMatchObject({ name: 'Dana', email: email.toLowerCase(), role: 'CUSTOMER' });

    const { payload: claims, protectedHeader } = await verifyToken(service, payload.token);
    expect(claims).toMatchObject({ sub: payload.user.id, role: 'customer', iss: 'mercado-accounts', aud: 'mercado' });
    expect(claims.exp! - claims.iat!).toBe(3600);
    expect(Math.abs(claims.iat! - Date.now() / 1000)).toBeLessThan(10);
    expect(payload.expiresAt).toBe(new Date(claims.exp! * 1000).toISOString());
    expect(protectedHeader).toMatchObject({ alg: 'ES256' });

    const login = await graphql(service, LOGIN, { email: email.toUpperCase(), password: 'correct horse battery' });
    expect(login.body.errors).toBeUndefined();
    expect(login.body.data!.login.user).toEqual({ id: payload.user.id, email: email.toLowerCase(), role: 'CUSTOMER' });
    const again = await verifyToken(service, login.body.data!.login.token);
    expect(again.payload.sub).toBe(payload.user.id);
  });

  it('publishes only public keys, without the gateway signature', async () => {
    const jwks = await fetchJwks(service);
    expect(jwks.keys).toHaveLength(1);
    const [key] = jwks.keys;
    expect(key).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig' });
    expect(typeof key!.kid).toBe('string');
    expect(key).not.toHaveProperty('d');

    const { body } = await register({ email: uniqueEmail(), name: 'Kid', password: 'long enough password' });
    const { protectedHeader } = await verifyToken(service, body.data!.register.token);
    expect(protectedHeader.kid).toBe(key!.kid);
  });

  it('signs tokens for the configured lifetime', async () => {
    const shortLived = await start(db, { tokenTtlSeconds: 120 });
    try {
      const { body } = await graphql(shortLived, REGISTER, { input: { email: uniqueEmail(), name: 'Brief', password: 'long enough password' } });
      const { payload } = await verifyToken(shortLived, body.data!.register.token);
      expect(payload.exp! - payload.iat!).toBe(120);
    } finally {
      await shortLived.close();
    }
  });

  it('refuses a second account for the same email, whatever its case', async () => {
    const email = uniqueEmail();
    const first = await register({ email, name: 'First', password: 'long enough password' });
    expect(first.body.errors).toBeUndefined();
    const second = await register({ email: email.toUpperCase(), name: 'Second', password: 'another long password' });
    expect(second.body.data).toBeNull();
    expect(second.body.errors?.[0]?.extensions).toMatchObject({ code: 'CONFLICT', field: 'email' });
    expect(second.body.errors?.[0]?.message).toMatch(/already exists/);
    expect(await db.user.count({ where: { email: email.toLowerCase() } })).toBe(1);
  });

  const valid = { email: 'a@example.test', name: 'X', password: 'long enough password' };
  it.each([
    ['a malformed email', 'email', { ...valid, email: 'not-an-email' }, /not a valid email/],
    ['an over-long email', 'email', { ...valid, email: `${'a'.repeat(250)}@example.test` }, /254/],
    ['a blank name', 'name', { ...valid, name: '   ' }, /name is required/],
    ['an over-long name', 'name', { ...valid, name: 'n'.repeat(101) }, /100/],
    ['a short password', 'password', { ...valid, password: 'too-short' }, /at least 10/],
    ['an over-long password', 'password', { ...valid, password: 'p'.repeat(201) }, /at most 200/],
  ])('rejects %s', async (_label, field, input, message) => {
    const before = await db.user.count();
    const { body } = await register(input);
    expect(body.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field });
    expect(body.errors?.[0]?.message).toMatch(message);
    expect(await db.user.count()).toBe(before);
  });

  it('answers a wrong password and an unknown email identically, and as slowly', async () => {
    const email = uniqueEmail();
    await register({ email, name: 'Target', password: 'the real password' });
    const wrongPassword = await graphql(service, LOGIN, { email, password: 'not the password' });
    const unknownEmail = await graphql(service, LOGIN, { email: `nobody-${email}`, password: 'not the password' });
    expect(wrongPassword.body.data).toBeNull();
    expect(wrongPassword.body.errors?.[0]?.extensions?.code).toBe('INVALID_CREDENTIALS');
    expect(unknownEmail.body).toEqual(wrongPassword.body);

    // Without the decoy hash an unknown email costs a few ms and a wrong password tens (Argon2id).
    // Measured as this process's CPU time (every thread's, the hash's included), not wall time:
    // what the answer costs does not change with how busy the machine is, how long it waits does.
    const median = async (variables: Record<string, string>) => {
      const costs: number[] = [];
      for (let i = 0; i < 5; i++) {
        const before = process.cpuUsage();
        await graphql(service, LOGIN, variables);
        const { user, system } = process.cpuUsage(before);
        costs.push((user + system) / 1000);
      }
      return costs.sort((a, b) => a - b)[2]!;
    };
    const wrong = await median({ email, password: 'not the password' });
    const unknown = await median({ email: `nobody-${email}`, password: 'not the password' });
    expect(unknown).toBeGreaterThan(wrong * 0.6); // measured: ~1.0 with the decoy, ~0.3 without
  });
});

describe('users', () => {
  it('gives me to the signed-in viewer and null to anonymous requests', async () => {
    const user = await db.user.create({ data: userRow({ name: 'Me Myself' }) });
    const anonymous = await graphql(service, `{ me { id } }`);
    expect(anonymous.body).toEqual({ data: { me: null } });
    const signedIn = await graphql(service, `{ me { id name email role } }`, {}, { id: user.id, role: 'customer' });
    expect(signedIn.body.data!.me).toEqual({ id: user.id, name: 'Me Myself', email: user.email, role: 'CUSTOMER' });
  });

  it('shows email and role only to the user themself and to admins', async () => {
    const alice = await db.user.create({ data: userRow({ name: 'Alice' }) });
    const bob = await db.user.create({ data: userRow({ name: 'Bob' }) });
    const admin = await db.user.create({ data: userRow({ name: 'Root', role: 'admin' }) });
    const reps = { reps: [{ __typename: 'User', id: alice.id }] };

    const asOther = await graphql(service, USERS, reps, { id: bob.id, role: 'customer' });
    expect(asOther.body.data!._entities).toEqual([{ id: alice.id, name: 'Alice', email: null, role: null }]);
    const asAnonymous = await graphql(service, USERS, reps);
    expect(asAnonymous.body.data!._entities).toEqual([{ id: alice.id, name: 'Alice', email: null, role: null }]);
    const asSelf = await graphql(service, USERS, reps, { id: alice.id, role: 'customer' });
    expect(asSelf.body.data!._entities).toEqual([{ id: alice.id, name: 'Alice', email: alice.email, role: 'CUSTOMER' }]);
    const asAdmin = await graphql(service, USERS, { reps: [{ __typename: 'User', id: admin.id }, ...reps.reps] }, { id: admin.id, role: 'admin' });
    expect(asAdmin.body.data!._entities).toEqual([
      { id: admin.id, name: 'Root', email: admin.email, role: 'ADMIN' },
      { id: alice.id, name: 'Alice', email: alice.email, role: 'CUSTOMER' },
    ]);
  });

  it('resolves 50 user references with one SQL query', async () => {
    await db.user.createMany({ data: Array.from({ length: 50 }, () => userRow()) });
    const ids = (await db.user.findMany({ take: 50, select: { id: true } })).map((u) => u.id);
    sql.length = 0;
    const { body } = await graphql(service, USERS, { reps: ids.map((id) => ({ __typename: 'User', id })) });
    expect(body.errors).toBeUndefined();
    expect(body.data!._entities.map((u: { id: string }) => u.id)).toEqual(ids);
    expect(sql.filter((s) => /select/i.test(s))).toHaveLength(1);
    expect(sql.join('\n')).not.toMatch(/passwordHash/);
  });

  it('resolves unknown and malformed references to null', async () => {
    const { body } = await graphql(service, USERS, {
      reps: [
        { __typename: 'User', id: '00000000-0000-4000-8000-00000000ffff' },
        { __typename: 'User', id: 'drop table' },
      ],
    });
    expect(body.errors).toBeUndefined();
    expect(body.data!._entities).toEqual([null, null]);
  });

  it('refuses GraphQL requests that do not carry the gateway signature', async () => {
    const unsigned = await postGraphQL(service.url, '{ me { id } }');
    expect(unsigned.status).toBe(401);
    expect(unsigned.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });
});
