import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from 'jose';
import { createLogger, type RunningService, type Viewer } from '@mercado/service-kit';
import { gatewayHeaders, postGraphQL, testInternalSecret } from '@mercado/service-kit/testing';
import type { Db } from '../src/db.ts';
import { JWKS_PATH, TOKEN_AUDIENCE, TOKEN_ISSUER } from '../src/index.ts';
import { startAccounts, type AccountsOptions } from '../src/service.ts';

export const migrations = new URL('../../../prisma/accounts/migrations', import.meta.url).pathname;

export const start = (db: Db, options: AccountsOptions = {}) =>
  startAccounts(db, { port: 0, internalTokenSecret: testInternalSecret, logger: createLogger('accounts', 'silent') }, options);

export const graphql = async (service: RunningService, query: string, variables = {}, viewer: Viewer | null = null) =>
  postGraphQL(service.url, query, variables, await gatewayHeaders(viewer));

export async function fetchJwks(service: RunningService): Promise<JSONWebKeySet> {
  const res = await fetch(`${service.baseUrl}${JWKS_PATH}`);
  if (res.status !== 200) throw new Error(`JWKS answered ${res.status}`);
  return (await res.json()) as JSONWebKeySet;
}

/** Verifies a token the way the gateway will: against the published keys, issuer and audience. */
export async function verifyToken(service: RunningService, token: string) {
  return jwtVerify(token, createLocalJWKSet(await fetchJwks(service)), {
    issuer: TOKEN_ISSUER,
    audience: TOKEN_AUDIENCE,
    algorithms: ['ES256'],
  });
}

let n = 0;
/** A user row for tests that never sign in: the hash is not a real one on purpose (hashing is slow). */
export function userRow(overrides: { id?: string; role?: 'customer' | 'admin'; name?: string } = {}) {
  n += 1;
  return { email: `user${n}-${Math.random().toString(36).slice(2, 8)}@example.test`, name: `User ${n}`, passwordHash: 'unused', ...overrides };
}
