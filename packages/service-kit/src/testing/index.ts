import { randomBytes } from 'node:crypto';
import { applyMigrations, dropDatabase, ensureDatabase, withDatabase } from '@mercado/db';
import { INTERNAL_CONTEXT_HEADER, signInternalContext, type Viewer } from '../internalContext.ts';

/** The PostgreSQL server tests run against; each test file gets its own databases on it. */
export const testPostgresUrl = process.env.POSTGRES_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
/** Random for every test process: no test, and no copy of a test, signs with a known secret. */
export const testInternalSecret = randomBytes(32).toString('hex');

export interface TestDatabase {
  url: string;
  drop: () => Promise<void>;
}

/** A fresh database with the service's migrations applied, named uniquely for this run. */
export async function createTestDatabase(service: string, migrationsDir: string): Promise<TestDatabase> {
  const name = `mercado_test_${randomBytes(5).toString('hex')}_${service}`;
  const url = withDatabase(testPostgresUrl, name);
  await ensureDatabase(url);
  await applyMigrations(url, migrationsDir);
  return { url, drop: () => dropDatabase(url) };
}

/** Headers a request needs to reach a subgraph directly, as if the gateway had signed it. */
export async function gatewayHeaders(viewer: Viewer | null = null): Promise<Record<string, string>> {
  return { [INTERNAL_CONTEXT_HEADER]: await signInternalContext({ viewer, requestId: 'test' }, testInternalSecret) };
}

export interface GraphQLResponseBody<T = Record<string, unknown>> {
  data?: T | null;
  errors?: Array<{ message: string; path?: Array<string | number>; extensions?: Record<string, unknown> }>;
}

/** POSTs one GraphQL operation; returns the HTTP status and the parsed body. */
export async function postGraphQL<T = Record<string, any>>(
  url: string,
  query: string,
  variables: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): Promise<{ status: number; body: GraphQLResponseBody<T> }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ query, variables }),
  });
  return { status: res.status, body: (await res.json()) as GraphQLResponseBody<T> };
}
