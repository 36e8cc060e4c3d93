import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INTERNAL_IDENTITY, type RunningService } from '@mercado/service-kit';
import { createTestDatabase, gatewayHeaders, postGraphQL, type TestDatabase } from '@mercado/service-kit/testing';
import { createDb, type Db } from '../src/db.ts';
import { deleteSignInKeys, type SignInThrottleLimits } from '../src/domain/signInThrottle.ts';
import type { AccountsOptions } from '../src/service.ts';
import { migrations, start } from './helpers.ts';

/** Against the real Redis, each service (or pair of replicas) under a prefix of its own. */
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefixes: string[] = [];
let database: TestDatabase;
let db: Db;
const running: RunningService[] = [];

beforeAll(async () => {
  database = await createTestDatabase('accounts', migrations);
  db = createDb(database.url);
});
afterAll(async () => {
  for (const service of running) await service.close();
  await db?.$disconnect();
  await database?.drop();
  for (const prefix of prefixes) await deleteSignInKeys(redisUrl, prefix);
});

async function accounts(limits: Partial<SignInThrottleLimits> = {}, keyPrefix = newPrefix()): Promise<RunningService> {
  const options: AccountsOptions = { signInThrottle: { redisUrl, keyPrefix, limits } };
  const service = await start(db, options);
  running.push(service);
  return service;
}
function newPrefix() {
  const prefix = `mercado:test:${randomBytes(5).toString('hex')}:sign-in`;
  prefixes.push(prefix);
  return prefix;
}

const LOGIN = 'mutation($email: String!, $password: String!) { login(email: $email, password: $password) { token } }';
const REGISTER = 'mutation($input: RegisterInput!) { register(input: $input) { token } }';
/** As the gateway sends it: signed identity, and the client's address beside it. */
async function call(service: RunningService, query: string, variables: Record<string, unknown>, address: string) {
  const { body } = await postGraphQL(service.url, query, variables, { ...(await gatewayHeaders()), [INTERNAL_IDENTITY.clientAddressHeader]: address });
  return { code: body.errors?.[0]?.extensions?.code as string | undefined, error: body.errors?.[0], data: body.data };
}
const login = (service: RunningService, email: string, password: string, address: string) => call(service, LOGIN, { email, password }, address);

let n = 0;
async function registered(service: RunningService, password = 'the right password') {
  const email = `throttled${++n}-${randomBytes(3).toString('hex')}@example.test`;
  const { code } = await call(service, REGISTER, { input: { email, name: 'Target', password } }, `10.9.${n}.1`);
  expect(code).toBeUndefined();
  return email;
}
const tally = (codes: Array<string | undefined>) => codes.reduce<Record<string, number>>((t, c) => ({ ...t, [c ?? 'ok']: (t[c ?? 'ok'] ?? 0) + 1 }), {});

describe('sign-in throttling', () => {
  it("refuses the issue's attack: thirty wrong passwords at once, then the right one", async () => {
    const service = await accounts();
    const email = await registered(service);
    const attempts = await Promise.all(Array.from({ length: 30 }, () => login(service, email, 'a wrong guess', '203.0.113.7')));
    expect(tally(attempts.map((a) => a.code))).toEqual({ INVALID_CREDENTIALS: 5, TOO_MANY_ATTEMPTS: 25 });
    const right = await login(service, email, 'the right password', '203.0.113.7');
    expect(right.code).toBe('TOO_MANY_ATTEMPTS');
    expect(right.error!.message).toMatch(/Too many sign-in attempts; try again in \d+ s/);
    expect(right.error!.extensions!.retryAfter).toBeGreaterThan(0);
    expect(right.error!.extensions!.retryAfter).toBeLessThanOrEqual(300);
    // The stranger locked out their own address, not the user.
    expect((await login(service, email, 'the right password', '198.51.100.20')).data?.login).toBeTruthy();
  });

  it('answers an unknown email exactly as a known one, attempt by attempt', async () => {
    const service = await accounts();
    const known = await registered(service);
    const unknown = `nobody-${randomBytes(4).toString('hex')}@example.test`;
    const sequence = async (email: string) => {
      const seen = [];
      for (let i = 0; i < 7; i++) {
        const { error } = await login(service, email, 'a wrong guess', '203.0.113.8');
        seen.push({ message: error!.message.replace(/\d+ s$/, 'N s'), code: error!.extensions!.code });
      }
      return seen;
    };
    const fromKnown = await sequence(known);
    expect(fromKnown.map((s) => s.code)).toEqual([...Array(5).fill('INVALID_CREDENTIALS'), 'TOO_MANY_ATTEMPTS', 'TOO_MANY_ATTEMPTS']);
    expect(await sequence(unknown)).toEqual(fromKnown);
  });

  it('locks for a bounded time, and a success forgets the failures', async () => {
    const service = await accounts({ lockSeconds: 1 });
    const email = await registered(service);
    for (let i = 0; i < 4; i++) expect((await login(service, email, 'wrong', '203.0.113.9')).code).toBe('INVALID_CREDENTIALS');
    expect((await login(service, email, 'the right password', '203.0.113.9')).code).toBeUndefined();
    // Four more failures after the success are allowed again: the count started over.
    for (let i = 0; i < 5; i++) expect((await login(service, email, 'wrong', '203.0.113.9')).code).toBe('INVALID_CREDENTIALS');
    expect((await login(service, email, 'the right password', '203.0.113.9')).code).toBe('TOO_MANY_ATTEMPTS');
    await new Promise((resolve) => setTimeout(resolve, 1_200));
    expect((await login(service, email, 'the right password', '203.0.113.9')).code).toBeUndefined();
  });

  it('holds across replicas sharing Redis', async () => {
    const prefix = newPrefix();
    const [a, b] = [await accounts({}, prefix), await accounts({}, prefix)];
    const email = await registered(a);
    for (let i = 0; i < 3; i++) expect((await login(a, email, 'wrong', '203.0.113.10')).code).toBe('INVALID_CREDENTIALS');
    for (let i = 0; i < 2; i++) expect((await login(b, email, 'wrong', '203.0.113.10')).code).toBe('INVALID_CREDENTIALS');
    expect((await login(a, email, 'the right password', '203.0.113.10')).code).toBe('TOO_MANY_ATTEMPTS');
    expect((await login(b, email, 'the right password', '203.0.113.10')).code).toBe('TOO_MANY_ATTEMPTS');
  });

  it('bounds guessing spread over many addresses for one account', async () => {
    const service = await accounts({ perAccountPerHour: 8 });
    const email = await registered(service);
    for (let i = 0; i < 8; i++) expect((await login(service, email, 'wrong', `192.0.2.${i}`)).code).toBe('INVALID_CREDENTIALS');
    expect((await login(service, email, 'wrong', '192.0.2.100')).code).toBe('TOO_MANY_ATTEMPTS');
  });

  it('counts registrations of a taken email against the address, as wrong passwords are', async () => {
    const service = await accounts({ perAddressPerDay: 3 });
    const taken = await registered(service);
    for (let i = 0; i < 3; i++) {
      const { code } = await call(service, REGISTER, { input: { email: taken, name: 'Probe', password: 'long enough password' } }, '203.0.113.11');
      expect(code).toBe('CONFLICT');
    }
    const fresh = { email: `fresh-${randomBytes(4).toString('hex')}@example.test`, name: 'Probe', password: 'long enough password' };
    expect((await call(service, REGISTER, { input: fresh }, '203.0.113.11')).code).toBe('TOO_MANY_ATTEMPTS');
    expect((await login(service, taken, 'the right password', '203.0.113.11')).code).toBe('TOO_MANY_ATTEMPTS');
    // Nothing was created for the refused registration; another address registers normally.
    expect(await db.user.count({ where: { email: fresh.email } })).toBe(0);
    expect((await call(service, REGISTER, { input: fresh }, '203.0.113.12')).code).toBeUndefined();
  });

  it('refuses NUL bytes as bad input, not an internal error', async () => {
    const service = await accounts();
    expect((await login(service, 'a\u0000@example.test', 'whatever password', '203.0.113.13')).code).toBe('BAD_USER_INPUT');
    const input = { email: `nul-${randomBytes(4).toString('hex')}@example.test`, name: 'Nul\u0000Name', password: 'long enough password' };
    expect((await call(service, REGISTER, { input }, '203.0.113.13')).code).toBe('BAD_USER_INPUT');
  });
});
