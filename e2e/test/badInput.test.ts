import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKeyPair, importJWK, SignJWT, type JWK } from 'jose';
import pg from 'pg';
import { seedId } from '@mercado/dev-seed';
import { postGraphQL } from '@mercado/service-kit/testing';
import { startInProcessStack, type InProcessStack } from '../src/index.ts';
import { signIn } from './helpers.ts';

/**
 * Bad input through the gateway: each case gets a clear message and a stable code, never a
 * stack trace, SQL or an internal address, and the gateway keeps serving afterwards.
 */
let stack: InProcessStack;
let alice: Record<string, string>;
type SigningKey = Parameters<SignJWT['sign']>[0];
let accountsKey: { kid: string; key: SigningKey };

const aliceId = seedId('user:alice');
const bobsOrder = seedId('order:bob@mercado.dev:0');

async function token(claims: Record<string, unknown>, opts: { key?: SigningKey; kid?: string; exp?: string | number; iss?: string } = {}) {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'ES256', kid: opts.kid ?? accountsKey.kid })
    .setSubject(aliceId)
    .setIssuer(opts.iss ?? 'mercado-accounts')
    .setAudience('mercado')
    .setIssuedAt()
    .setExpirationTime(opts.exp ?? '1h')
    .sign(opts.key ?? accountsKey.key);
}

beforeAll(async () => {
  stack = await startInProcessStack();
  alice = await signIn(stack, 'alice@mercado.dev', 'alice-password');
  // The test plays a thief who stole nothing but tries everything; for the expired and
  // wrong-issuer cases it needs the real signing key, read from the accounts database.
  const client = new pg.Client({ connectionString: stack.databaseUrls.accounts });
  await client.connect();
  const { rows } = await client.query('select "kid", "privateJwk" from "SigningKey" order by "createdAt" desc limit 1');
  await client.end();
  accountsKey = { kid: rows[0].kid, key: (await importJWK(rows[0].privateJwk as JWK, 'ES256')) as SigningKey };
});
afterAll(() => stack?.close());

interface Case {
  name: string;
  query?: string;
  rawBody?: string;
  variables?: Record<string, unknown>;
  headers?: () => Promise<Record<string, string>> | Record<string, string>;
  status: number;
  code: string;
  message?: RegExp;
}

const productId = seedId('product:BOO-001');
const cases: Case[] = [
  { name: 'malformed query', query: '{ products(first: 2 { totalCount }', status: 400, code: 'GRAPHQL_PARSE_FAILED', message: /Syntax Error/ },
  { name: 'unknown field', query: '{ products { totalCount price } }', status: 400, code: 'GRAPHQL_VALIDATION_FAILED', message: /Cannot query field "price"/ },
  { name: 'wrong argument type', query: '{ products(first: "ten") { totalCount } }', status: 400, code: 'GRAPHQL_VALIDATION_FAILED', message: /Int cannot represent/ },
  { name: 'wrong variable type', query: 'query($n: Int) { products(first: $n) { totalCount } }', variables: { n: 'ten' }, status: 400, code: 'BAD_USER_INPUT', message: /\$n/ },
  { name: 'body that is not JSON', rawBody: '{"query": ', status: 400, code: 'BAD_REQUEST', message: /not valid JSON/ },
  { name: 'unknown product id', query: `{ product(id: "${seedId('product:none')}") { name } }`, status: 200, code: 'NOT_FOUND', message: /was not found/ },
  { name: 'malformed product id', query: `{ product(id: "1 or 1=1") { name } }`, status: 200, code: 'BAD_USER_INPUT', message: /not a valid id/ },
  { name: 'page size out of range', query: '{ products(first: 5000) { totalCount } }', status: 200, code: 'BAD_USER_INPUT', message: /between 1 and 100/ },
  { name: "another customer's order", query: `{ order(id: "${bobsOrder}") { id totalCents } }`, headers: () => alice, status: 200, code: 'NOT_FOUND' },
  { name: 'wrong password', query: 'mutation { login(email: "alice@mercado.dev", password: "not-her-password") { token } }', status: 200, code: 'INVALID_CREDENTIALS' },
  { name: 'customer calling an admin mutation', query: `mutation { restock(productId: "${productId}", quantity: 5) { available } }`, headers: () => alice, status: 200, code: 'FORBIDDEN', message: /admin/ },
  { name: 'anonymous calling an admin mutation', query: `mutation { updateProductPrice(id: "${productId}", priceCents: 1) { priceCents } }`, status: 200, code: 'UNAUTHENTICATED' },
  { name: 'anonymous review', query: `mutation { addReview(input: { productId: "${productId}", rating: 5, body: "great" }) { id } }`, status: 200, code: 'UNAUTHENTICATED' },
  { name: 'rating out of range', query: `mutation { addReview(input: { productId: "${productId}", rating: 9, body: "great" }) { id } }`, headers: () => alice, status: 200, code: 'BAD_USER_INPUT', message: /rating/ },
  { name: 'review of an unknown product', query: `mutation { addReview(input: { productId: "${seedId('product:none')}", rating: 5, body: "great" }) { id } }`, headers: () => alice, status: 200, code: 'NOT_FOUND', message: /was not found/ },
  { name: 'expired token', query: '{ me { name } }', headers: async () => ({ authorization: `Bearer ${await token({ role: 'customer' }, { exp: Math.floor(Date.now() / 1000) - 60 })}` }), status: 401, code: 'UNAUTHENTICATED', message: /expired/ },
  { name: 'token signed by another key', query: '{ me { name } }', headers: async () => ({ authorization: `Bearer ${await token({ role: 'admin' }, { key: (await generateKeyPair('ES256')).privateKey })}` }), status: 401, code: 'UNAUTHENTICATED', message: /invalid/ },
  { name: 'token with an unknown key id', query: '{ me { name } }', headers: async () => ({ authorization: `Bearer ${await token({ role: 'admin' }, { kid: 'nope', key: (await generateKeyPair('ES256')).privateKey })}` }), status: 401, code: 'UNAUTHENTICATED' },
  { name: 'token with alg none', query: '{ me { name } }', headers: () => ({ authorization: `Bearer ${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub: aliceId, role: 'admin', iss: 'mercado-accounts', aud: 'mercado', exp: 9999999999 })}.` }), status: 401, code: 'UNAUTHENTICATED' },
  { name: 'token from another issuer', query: '{ me { name } }', headers: async () => ({ authorization: `Bearer ${await token({ role: 'customer' }, { iss: 'someone-else' })}` }), status: 401, code: 'UNAUTHENTICATED' },
  { name: 'token claiming a role that does not exist', query: '{ me { name } }', headers: async () => ({ authorization: `Bearer ${await token({ role: 'root' })}` }), status: 401, code: 'UNAUTHENTICATED' },
  { name: 'authorization that is not a bearer token', query: '{ me { name } }', headers: () => ({ authorization: 'Basic YWxpY2U6cGFzcw==' }), status: 401, code: 'UNAUTHENTICATED', message: /Bearer/ },
];

function b64(value: object): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

describe('bad input through the gateway', () => {
  it.each(cases)('$name', async (c) => {
    const headers = { 'content-type': 'application/json', ...(c.headers ? await c.headers() : {}) };
    const res = await fetch(stack.gateway.url, {
      method: 'POST',
      headers,
      body: c.rawBody ?? JSON.stringify({ query: c.query, variables: c.variables ?? {} }),
    });
    const text = await res.text();
    const body = JSON.parse(text);
    expect({ status: res.status, code: body.errors?.[0]?.extensions?.code }).toEqual({ status: c.status, code: c.code });
    if (c.message) expect(body.errors[0].message).toMatch(c.message);
    expect(text).not.toMatch(/stacktrace|127\.0\.0\.1|localhost|prisma|postgres|\bat \/|node_modules|serviceName/i);
  });

  it('keeps serving a normal query afterwards', async () => {
    const { status, body } = await postGraphQL(stack.gateway.url, '{ me { name } categories }', {}, alice);
    expect(status).toBe(200);
    expect(body).toEqual({ data: { me: { name: 'Alice Customer' }, categories: ['books', 'coffee', 'kitchen', 'office', 'outdoor'] } });
  });

  it('reports a subgraph that went away as unavailable, without its address, and keeps the rest', async () => {
    await stack.subgraphs.reviews!.close();
    const res = await fetch(stack.gateway.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: `{ product(id: "${productId}") { name averageRating } }` }),
    });
    const text = await res.text();
    const body = JSON.parse(text);
    expect(body.data).toEqual({ product: { name: 'Distributed Systems', averageRating: null } });
    expect(body.errors[0].extensions.code).toBe('SERVICE_UNAVAILABLE');
    expect(text).not.toMatch(/127\.0\.0\.1|localhost|ECONNREFUSED|reviews/i);
  });
});
