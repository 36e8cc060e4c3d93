import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKeyPair, importJWK, SignJWT, type JWK } from 'jose';
import pg from 'pg';
import { composeSupergraph, deleteRateLimitKeys, documentHash, loadTrustedDocuments, startGateway } from '@mercado/gateway';
import { seedId } from '@mercado/dev-seed';
import { createLogger, INTERNAL_CONTEXT_HEADER, INTERNAL_IDENTITY, signInternalContext, type RunningService } from '@mercado/service-kit';
import { postGraphQL, testInternalSecret } from '@mercado/service-kit/testing';
import { services, startInProcessStack, type InProcessStack } from '../src/index.ts';
import { signIn } from './helpers.ts';

/**
 * Hostile requests against the real gateway and subgraphs: one stack in development mode, and a
 * production gateway over the same subgraphs. Every request is refused with the expected HTTP
 * status and stable code, leaks nothing internal, and both gateways keep serving afterwards.
 */
let stack: InProcessStack;
let production: RunningService;
let alice: Record<string, string>;
let carol: Record<string, string>;
let admin: Record<string, string>;
type SigningKey = Parameters<SignJWT['sign']>[0];
let accountsKey: { kid: string; key: SigningKey };

const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const rateLimitPrefix = `mercado:test:${randomBytes(5).toString('hex')}:rate`;
// Per user, or per address when anonymous: the anonymous production cases below share one
// address's allowance and stay well under it; Carol's requests use up hers.
const productionRateLimit = 30;

const aliceId = seedId('user:alice');
const bobsOrder = seedId('order:bob@mercado.dev:0');
const productId = seedId('product:BOO-001');

const operation = (file: string) => readFileSync(new URL(`../../gateway/operations/${file}.graphql`, import.meta.url), 'utf8');
const persisted = (file: string, variables: Record<string, unknown> = {}) => ({
  variables,
  extensions: { persistedQuery: { version: 1, sha256Hash: documentHash(operation(file)) } },
});

// Trusted in this test only, so that production's layers behind the allowlist get tested too.
const trustedHere = {
  introspection: 'query Introspect { __schema { queryType { name } } }',
  subgraphService: 'query SubgraphSdl { _service { sdl } }',
  typo: 'query Typo { categoriez }',
};

beforeAll(async () => {
  stack = await startInProcessStack();
  production = await startGateway({
    supergraphSdl: composeSupergraph(),
    subgraphUrls: Object.fromEntries(Object.entries(stack.subgraphs).map(([name, s]) => [name, s.url])),
    auth: { jwksUrl: `${stack.subgraphs.accounts!.baseUrl}/.well-known/jwks.json`, issuer: 'mercado-accounts', audience: 'mercado' },
    internalTokenSecret: testInternalSecret,
    production: true,
    trustedDocuments: new Map([...loadTrustedDocuments(), ...Object.values(trustedHere).map((text) => [documentHash(text), text] as const)]),
    rateLimit: { redisUrl, keyPrefix: rateLimitPrefix, points: productionRateLimit, durationSeconds: 60 },
    logger: createLogger('gateway', process.env.LOG_LEVEL ?? 'silent'),
    port: 0,
  });
  [alice, carol, admin] = await Promise.all([
    signIn(stack, 'alice@mercado.dev', 'alice-password'),
    signIn(stack, 'carol@mercado.dev', 'carol-password'),
    signIn(stack, 'admin@mercado.dev', 'admin-password'),
  ]);
  // Expired, foreign-issuer and foreign-audience tokens need the real signing key.
  const client = new pg.Client({ connectionString: stack.databaseUrls.accounts });
  await client.connect();
  const { rows } = await client.query('select "kid", "privateJwk" from "SigningKey" order by "createdAt" desc limit 1');
  await client.end();
  accountsKey = { kid: rows[0].kid, key: (await importJWK(rows[0].privateJwk as JWK, 'ES256')) as SigningKey };
});
afterAll(async () => {
  await production?.close();
  await stack?.close();
  await deleteRateLimitKeys(redisUrl, rateLimitPrefix);
});

async function token(opts: { key?: SigningKey; exp?: string | number; iss?: string; aud?: string } = {}) {
  return new SignJWT({ role: 'admin' })
    .setProtectedHeader({ alg: 'ES256', kid: accountsKey.kid })
    .setSubject(aliceId)
    .setIssuer(opts.iss ?? 'mercado-accounts')
    .setAudience(opts.aud ?? 'mercado')
    .setIssuedAt()
    .setExpirationTime(opts.exp ?? '1h')
    .sign(opts.key ?? accountsKey.key);
}
const bearer = async (jwt: Promise<string> | string) => ({ authorization: `Bearer ${await jwt}` });
const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');

interface Case {
  name: string;
  /** Which door: the development gateway, the production gateway, or one subgraph directly. */
  target: 'development' | 'production' | { subgraph: string };
  method?: 'GET' | 'POST' | 'OPTIONS';
  body?: unknown;
  /** A body sent as a stream, without Content-Length. */
  streamedBytes?: number;
  search?: string;
  /** Another path than GraphQL's, on the target's base URL. */
  path?: string;
  headers?: () => Promise<Record<string, string>> | Record<string, string>;
  /** Runs just before the request (e.g. using up a rate limit). */
  before?: () => Promise<void>;
  status: number;
  code: string;
  message?: RegExp;
  check?: (res: Response, text: string) => void;
}

const deep = `{ me { orders { lines { product { reviews { author { orders { lines { product { reviews { author { orders { id } } } } } } } } } } } } }`;
const preflightFrom = (origin: string) => () => ({ origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type, authorization' });
const notHtml = (res: Response, text: string) => {
  expect(res.headers.get('content-type')).toMatch(/json/);
  expect(text).not.toMatch(/<html|sandbox/i);
};
const forgedContext = (secret: string) => async () => ({
  [INTERNAL_CONTEXT_HEADER]: await signInternalContext({ viewer: { id: aliceId, role: 'admin' }, requestId: 'forged' }, secret),
});
const forgedSecret = randomBytes(32).toString('hex');
/** Signed with the real secret but valid for a year: the verifier's maximum age refuses it. */
const longLivedContext = async () => ({
  [INTERNAL_CONTEXT_HEADER]: await new SignJWT({ role: 'admin' })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(aliceId)
    .setIssuer(INTERNAL_IDENTITY.issuer)
    .setAudience(INTERNAL_IDENTITY.audience)
    .setIssuedAt()
    .setExpirationTime('365d')
    .sign(new TextEncoder().encode(testInternalSecret)),
});
const nestedLists = 'query Nested($n: Int, $m: Int) { products(first: $n) { edges { node { reviews(first: $m) { author { reviews(first: $m) { body } } } } } } }';

const cases: Case[] = [
  // Operation limits (development gateway: in production these are not even on the allowlist).
  { name: 'deep nesting', target: 'development', body: { query: deep }, status: 400, code: 'GRAPHQL_VALIDATION_FAILED', message: /depth limit of 12 exceeded/ },
  { name: 'alias bomb', target: 'development', body: { query: `{ ${Array.from({ length: 200 }, (_, i) => `a${i}: categories`).join(' ')} }` }, status: 400, code: 'GRAPHQL_VALIDATION_FAILED', message: /Aliases limit of 15 exceeded, found 200/ },
  { name: 'lists of lists (cost)', target: 'development', body: { query: '{ products(first: 100) { edges { node { reviews(first: 50) { author { reviews(first: 50) { body } } } } } } }' }, status: 400, code: 'COST_LIMIT_EXCEEDED', message: /estimated cost of 260201 exceeds the limit of 20000/ },
  // Issue 15: the same lists sized by variables were served (5.8 MB per anonymous request).
  ...(['anonymous', 'customer', 'admin'] as const).map((role): Case => ({
    name: `lists of lists sized by variables, ${role}`,
    target: 'development',
    body: { query: nestedLists, variables: { n: 100, m: 50 } },
    headers: () => (role === 'anonymous' ? {} : role === 'customer' ? alice : admin),
    status: 400,
    code: 'COST_LIMIT_EXCEEDED',
    check: (_res, text) => expect(JSON.parse(text).errors[0].extensions.cost).toEqual({ estimated: 260_201, max: 20_000 }),
  })),
  { name: 'lists of lists through fragments and variable defaults', target: 'development', body: { query: `query Q($n: Int = 100) { products(first: $n) { ...Page } } fragment Page on ProductConnection { edges { node { ... on Product { reviews(first: 50) { author { ...Reviews } } } } } } fragment Reviews on User { reviews(first: 50) { body } }` }, status: 400, code: 'COST_LIMIT_EXCEEDED' },
  { name: 'a huge page sized by a variable (trusted document)', target: 'production', body: persisted('products', { first: 100_000 }), status: 400, code: 'COST_LIMIT_EXCEEDED' },
  { name: 'a page past the subgraph\'s own cap', target: 'production', body: persisted('products', { first: 101 }), status: 200, code: 'BAD_USER_INPUT', message: /first must be between 1 and 100/ },
  { name: 'introspection counts (cost)', target: 'development', body: { query: '{ __schema { types { fields { args { type { name } } type { name } } interfaces { fields { args { name } } } possibleTypes { fields { args { name } } } } } }' }, status: 400, code: 'COST_LIMIT_EXCEEDED', message: /estimated cost of 24411/ },
  { name: 'too many directives', target: 'development', body: { query: `{ ${'categories @include(if: true) '.repeat(30)} }` }, status: 400, code: 'GRAPHQL_VALIDATION_FAILED', message: /Directives limit of 10 exceeded, found 30/ },
  { name: 'too many tokens', target: 'development', body: { query: `{ ${'categories '.repeat(3000)} }` }, status: 400, code: 'GRAPHQL_PARSE_FAILED', message: /2000 tokens/ },
  { name: 'huge string within the body limit', target: 'development', body: { query: 'mutation($input: RegisterInput!) { register(input: $input) { token } }', variables: { input: { email: 'mallory@example.com', password: 'long-enough-password', name: 'x'.repeat(90_000) } } }, status: 200, code: 'BAD_USER_INPUT', message: /name is at most 100 characters/ },
  { name: 'body over the limit', target: 'development', body: { query: '{ categories }', variables: { padding: 'x'.repeat(200_000) } }, status: 413, code: 'PAYLOAD_TOO_LARGE' },
  { name: 'body over the limit without Content-Length', target: 'development', streamedBytes: 300_000, status: 413, code: 'PAYLOAD_TOO_LARGE' },
  { name: 'NUL byte in the login email', target: 'development', body: { query: operation('login'), variables: { email: 'alice@mercado.dev\u0000', password: 'alice-password' } }, status: 400, code: 'BAD_USER_INPUT', message: /NUL byte/ },
  { name: 'NUL byte in the register name', target: 'development', body: { query: operation('register'), variables: { input: { email: 'nul-name@example.test', password: 'long-enough-password', name: 'Nul\u0000Name' } } }, status: 400, code: 'BAD_USER_INPUT' },
  { name: 'NUL byte in a review body (literal)', target: 'development', body: { query: `mutation { addReview(input: { productId: "${productId}", rating: 5, body: "nul\\u0000body" }) { id } }` }, headers: () => alice, status: 400, code: 'BAD_USER_INPUT' },
  { name: 'NUL byte in a review body (trusted document)', target: 'production', body: persisted('addReview', { input: { productId, rating: 5, body: 'nul\u0000body' } }), headers: () => alice, status: 400, code: 'BAD_USER_INPUT' },
  { name: 'APQ hash that is not the query\'s', target: 'development', body: { query: '{ categories }', extensions: { persistedQuery: { version: 1, sha256Hash: documentHash('{ __typename }') } } }, status: 400, code: 'PERSISTED_QUERY_HASH_MISMATCH' },
  { name: 'APQ of an unsupported version', target: 'development', body: { query: '{ categories }', extensions: { persistedQuery: { version: 2, sha256Hash: documentHash('{ categories }') } } }, status: 400, code: 'PERSISTED_QUERY_VERSION_NOT_SUPPORTED' },
  { name: 'query plan asked for by header', target: 'development', body: { query: '{ products(first: 1) { edges { node { name stock { available } } } } }' }, headers: () => ({ 'apollo-query-plan-experimental': '1', 'apollo-query-plan-experimental-format': 'internal' }), status: 200, code: undefined as never, check: (_res, text) => expect(text).not.toMatch(/queryPlan|Fetch|Sequence|serviceName/) },
  { name: 'batched flood', target: 'development', body: Array.from({ length: 100 }, () => ({ query: '{ categories }' })), status: 400, code: 'BAD_REQUEST', message: /batching disabled/ },
  { name: 'batch of two', target: 'production', body: [persisted('categories'), persisted('categories')], status: 400, code: 'BAD_REQUEST', message: /batching disabled/ },
  { name: 'GET from a plain browser form (CSRF)', target: 'development', method: 'GET', search: `?query=${encodeURIComponent('{ me { email } }')}`, status: 400, code: 'BAD_REQUEST', message: /Cross-Site Request Forgery/ },
  { name: 'mutation over GET', target: 'development', method: 'GET', search: `?query=${encodeURIComponent(`mutation { restock(productId: "${productId}", quantity: 5) { available } }`)}`, headers: () => ({ 'apollo-require-preflight': 'true' }), status: 405, code: 'BAD_REQUEST', message: /only support query/ },
  { name: 'subgraph field _entities through the gateway', target: 'development', body: { query: '{ _entities(representations: [{ __typename: "User", id: "x" }]) { __typename } }' }, status: 400, code: 'GRAPHQL_VALIDATION_FAILED', message: /Cannot query field "_entities"/ },

  // Who is calling.
  { name: 'JWT with alg none', target: 'development', body: { query: '{ me { name } }' }, headers: () => ({ authorization: `Bearer ${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub: aliceId, role: 'admin', iss: 'mercado-accounts', aud: 'mercado', exp: 9999999999 })}.` }), status: 401, code: 'UNAUTHENTICATED' },
  { name: 'JWT signed with another key', target: 'development', body: { query: '{ me { name } }' }, headers: async () => bearer(token({ key: (await generateKeyPair('ES256')).privateKey })), status: 401, code: 'UNAUTHENTICATED', message: /invalid/ },
  { name: 'expired JWT', target: 'development', body: { query: '{ me { name } }' }, headers: () => bearer(token({ exp: Math.floor(Date.now() / 1000) - 60 })), status: 401, code: 'UNAUTHENTICATED', message: /expired/ },
  { name: 'JWT from another issuer', target: 'development', body: { query: '{ me { name } }' }, headers: () => bearer(token({ iss: 'someone-else' })), status: 401, code: 'UNAUTHENTICATED' },
  { name: 'JWT for another audience', target: 'development', body: { query: '{ me { name } }' }, headers: () => bearer(token({ aud: 'another-api' })), status: 401, code: 'UNAUTHENTICATED' },
  { name: 'client sending its own x-mercado-context to the gateway', target: 'development', body: { query: `mutation { restock(productId: "${productId}", quantity: 5) { available } }` }, headers: forgedContext(testInternalSecret), status: 200, code: 'UNAUTHENTICATED' },
  ...services.flatMap(({ name }): Case[] => [
    { name: `${name} called directly, unsigned`, target: { subgraph: name }, body: { query: '{ __typename }' }, status: 401, code: 'UNAUTHENTICATED', message: /signed by the Mercado gateway/ },
    { name: `${name} called directly, forged signature`, target: { subgraph: name }, body: { query: '{ __typename }' }, headers: forgedContext(forgedSecret), status: 401, code: 'UNAUTHENTICATED' },
    { name: `${name} called directly, a token signed for a year`, target: { subgraph: name }, body: { query: '{ __typename }' }, headers: longLivedContext, status: 401, code: 'UNAUTHENTICATED' },
  ]),

  // What a signed-in customer may do, through trusted documents in production.
  { name: "another user's order", target: 'production', body: persisted('order', { id: bobsOrder }), headers: () => alice, status: 200, code: 'NOT_FOUND' },
  { name: 'customer calling createProduct', target: 'production', body: persisted('createProduct', { input: { sku: 'HAX-001', name: 'x', priceCents: 1, category: 'books' } }), headers: () => alice, status: 200, code: 'FORBIDDEN', message: /admin/ },
  { name: 'customer calling updateProductPrice', target: 'production', body: persisted('updateProductPrice', { id: productId, priceCents: 1 }), headers: () => alice, status: 200, code: 'FORBIDDEN', message: /admin/ },
  { name: 'customer calling restock', target: 'production', body: persisted('restock', { productId, quantity: 5 }), headers: () => alice, status: 200, code: 'FORBIDDEN', message: /admin/ },

  // Production keeps the schema and anything but its own operations to itself.
  { name: 'introspection in production', target: 'production', body: { query: '{ __schema { types { name } } }' }, status: 400, code: 'OPERATION_NOT_ALLOWED' },
  { name: 'introspection in production, even when trusted', target: 'production', body: { query: trustedHere.introspection }, status: 400, code: 'GRAPHQL_VALIDATION_FAILED', message: /introspection is not allowed/ },
  { name: 'subgraph field _service in production, even when trusted', target: 'production', body: { query: trustedHere.subgraphService }, status: 400, code: 'GRAPHQL_VALIDATION_FAILED', message: /Cannot query field "_service"/ },
  { name: 'field suggestions in production', target: 'production', body: { query: trustedHere.typo }, status: 400, code: 'GRAPHQL_VALIDATION_FAILED', check: (_res, text) => expect(text).not.toMatch(/Did you mean|categories/) },
  { name: 'field suggestions in development (for comparison)', target: 'development', body: { query: trustedHere.typo }, status: 400, code: 'GRAPHQL_VALIDATION_FAILED', message: /Did you mean "categories"\?/ },
  { name: 'Sandbox page in production', target: 'production', method: 'GET', headers: () => ({ accept: 'text/html' }), status: 400, code: 'BAD_REQUEST', check: notHtml },
  { name: 'unknown persisted query in production', target: 'production', body: { extensions: { persistedQuery: { version: 1, sha256Hash: documentHash('{ categories }') } } }, status: 400, code: 'PERSISTED_QUERY_NOT_FOUND' },
  { name: 'arbitrary query in production', target: 'production', body: { query: '{ products(first: 100) { edges { node { name } } } }' }, status: 400, code: 'OPERATION_NOT_ALLOWED', message: /not one of them/ },
  { name: 'arbitrary query over GET in production', target: 'production', method: 'GET', search: `?query=${encodeURIComponent('{ categories }')}`, headers: () => ({ 'apollo-require-preflight': 'true' }), status: 400, code: 'OPERATION_NOT_ALLOWED' },
  { name: 'trusted hash with a different query text', target: 'production', body: { query: '{ products(first: 100) { totalCount } }', extensions: persisted('categories').extensions }, status: 400, code: 'OPERATION_NOT_ALLOWED' },
  { name: 'trusted text reformatted', target: 'production', body: { query: operation('categories').replace(/\s+/g, ' ') }, status: 400, code: 'OPERATION_NOT_ALLOWED' },

  // Volume and browsers.
  {
    name: 'rate limit exceeded',
    target: 'production',
    body: persisted('categories'),
    headers: () => carol,
    before: async () => {
      for (let i = 0; i < productionRateLimit; i++) {
        const res = await fetch(production.url, { method: 'POST', headers: { 'content-type': 'application/json', ...carol }, body: JSON.stringify(persisted('categories')) });
        expect(res.status).toBe(200);
      }
    },
    status: 429,
    code: 'RATE_LIMITED',
    check: (res) => expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0),
  },
  { name: 'CORS preflight from a foreign origin (development)', target: 'development', method: 'OPTIONS', headers: preflightFrom('https://evil.example'), status: 403, code: 'ORIGIN_NOT_ALLOWED', check: (res) => expect(res.headers.get('access-control-allow-origin')).toBeNull() },
  { name: 'CORS preflight from a local origin (production)', target: 'production', method: 'OPTIONS', headers: preflightFrom('http://localhost:3000'), status: 403, code: 'ORIGIN_NOT_ALLOWED', check: (res) => expect(res.headers.get('access-control-allow-origin')).toBeNull() },
  { name: 'request from a foreign origin', target: 'production', body: persisted('categories'), headers: () => ({ origin: 'https://evil.example' }), status: 403, code: 'ORIGIN_NOT_ALLOWED' },
];

function urlOf(target: Case['target'], path?: string): string {
  const service = target === 'development' ? stack.gateway : target === 'production' ? production : stack.subgraphs[target.subgraph]!;
  return path ? `${service.baseUrl}${path}` : service.url;
}

/** node:http, because fetch() does not let a caller choose the Host header. */
function rawRequest(port: number, headers: Record<string, string>, body: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, method: 'POST', path: '/graphql', headers: { 'content-type': 'application/json', ...headers } }, (res) => {
      let text = '';
      res.on('data', (chunk) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

function streamOf(bytes: number): ReadableStream<Uint8Array> {
  const chunk = new TextEncoder().encode('x'.repeat(50_000));
  let sent = 0;
  return new ReadableStream({
    pull(controller) {
      if (sent >= bytes) return controller.close();
      controller.enqueue(chunk);
      sent += chunk.length;
    },
  });
}

describe('hostile requests', () => {
  it('has a case for every subgraph', () => {
    expect(Object.keys(stack.subgraphs).sort()).toEqual(services.map((s) => s.name).sort());
    expect(cases.length).toBeGreaterThanOrEqual(30);
  });

  it.each(cases)('$name', async (c) => {
    await c.before?.();
    const method = c.method ?? 'POST';
    const init: RequestInit & { duplex?: 'half' } = { method, headers: { ...(method === 'POST' ? { 'content-type': 'application/json' } : {}), ...(c.headers ? await c.headers() : {}) } };
    if (c.streamedBytes) Object.assign(init, { body: streamOf(c.streamedBytes), duplex: 'half' });
    else if (method === 'POST') init.body = JSON.stringify(c.body);
    const res = await fetch(urlOf(c.target, c.path) + (c.search ?? ''), init);
    const text = await res.text();
    const body = JSON.parse(text);
    expect({ status: res.status, code: body.errors?.[0]?.extensions?.code }).toEqual({ status: c.status, code: c.code });
    if (c.message) expect(body.errors[0].message).toMatch(c.message);
    c.check?.(res, text);
    expect(text).not.toMatch(/stacktrace|127\.0\.0\.1|localhost:\d|prisma|postgres|\bat \/|node_modules|serviceName|ECONN/i);
  });

  it('refuses a Host that is not a public name before looking at Origin (DNS rebinding)', async () => {
    const port = new URL(stack.gateway.url).port;
    const rebound = await rawRequest(Number(port), { host: `rebind.evil.example:${port}`, origin: `http://rebind.evil.example:${port}` }, JSON.stringify({ query: '{ me { email } }' }));
    expect({ status: rebound.status, code: JSON.parse(rebound.body).errors[0].extensions.code }).toEqual({ status: 421, code: 'HOST_NOT_ALLOWED' });
    const local = await rawRequest(Number(port), { host: `localhost:${port}`, origin: `http://localhost:${port}` }, JSON.stringify({ query: '{ __typename }' }));
    expect(local.status).toBe(200);
  });

  it('throttles guessing a password through the gateway: thirty wrong at once, then the right one', async () => {
    const email = `brute-${randomBytes(4).toString('hex')}@example.test`;
    const registered = await postGraphQL(stack.gateway.url, operation('register'), { input: { email, password: 'the right password', name: 'Target' } });
    expect(registered.body.errors).toBeUndefined();
    const guesses = await Promise.all(Array.from({ length: 30 }, () => postGraphQL(stack.gateway.url, operation('login'), { email, password: 'a wrong guess' })));
    const codes = guesses.map((g) => g.body.errors?.[0]?.extensions?.code);
    expect(codes.filter((c) => c === 'INVALID_CREDENTIALS').length).toBeLessThanOrEqual(5);
    expect(codes.filter((c) => c === 'TOO_MANY_ATTEMPTS').length).toBeGreaterThanOrEqual(25);
    const right = await postGraphQL(stack.gateway.url, operation('login'), { email, password: 'the right password' });
    expect(right.body.data).toBeNull();
    expect(right.body.errors?.[0]?.extensions).toEqual({ code: 'TOO_MANY_ATTEMPTS', retryAfter: expect.any(Number) });
    // An unknown email is answered the same way after as many guesses.
    const unknown = `nobody-${randomBytes(4).toString('hex')}@example.test`;
    const unknownCodes = [];
    for (let i = 0; i < 6; i++) unknownCodes.push((await postGraphQL(stack.gateway.url, operation('login'), { email: unknown, password: 'a wrong guess' })).body.errors?.[0]?.extensions?.code);
    expect(unknownCodes).toEqual([...Array(5).fill('INVALID_CREDENTIALS'), 'TOO_MANY_ATTEMPTS']);
  });

  it('cuts off a body that trickles in, well before Node\'s 300 s', async () => {
    const port = Number(new URL(stack.gateway.url).port);
    const started = Date.now();
    const closed = await new Promise<number>((resolve) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.write(`POST /graphql HTTP/1.1\r\nhost: 127.0.0.1:${port}\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{`);
        const drip = setInterval(() => socket.write(' '), 2_000);
        socket.on('close', () => {
          clearInterval(drip);
          resolve(Date.now() - started);
        });
      });
      socket.on('data', () => {});
      socket.on('error', () => {});
    });
    expect(closed).toBeLessThan(30_000);
  }, 40_000);

  it('stored nothing from the refused requests', async () => {
    const client = new pg.Client({ connectionString: stack.databaseUrls.accounts });
    await client.connect();
    const users = await client.query(`select count(*)::int as n from "User" where email like 'nul-%' or email = 'mallory@example.com'`);
    await client.end();
    expect(users.rows[0].n).toBe(0);
    const reviews = new pg.Client({ connectionString: stack.databaseUrls.reviews });
    await reviews.connect();
    const nul = await reviews.query(`select count(*)::int as n from "Review" where body like 'nul%'`);
    await reviews.end();
    expect(nul.rows[0].n).toBe(0);
  });

  it('leaves both gateways serving normal requests', async () => {
    const development = await postGraphQL(stack.gateway.url, '{ me { name } categories }', {}, alice);
    expect(development).toEqual({ status: 200, body: { data: { me: { name: 'Alice Customer' }, categories: ['books', 'coffee', 'kitchen', 'office', 'outdoor'] } } });

    const res = await fetch(production.url, { method: 'POST', headers: { 'content-type': 'application/json', ...alice }, body: JSON.stringify(persisted('order', { id: seedId('order:alice@mercado.dev:0') })) });
    const { data, errors } = (await res.json()) as { data: any; errors?: unknown };
    expect(res.status).toBe(200);
    expect(errors).toBeUndefined();
    expect(data.order).toMatchObject({ id: seedId('order:alice@mercado.dev:0'), customer: { name: 'Alice Customer' } });
    expect(data.order.lines.length).toBeGreaterThan(0);
  });

  it('reports itself ready with every subgraph up', async () => {
    const res = await fetch(`${production.baseUrl}/ready`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ready', checks: Object.fromEntries(services.map((s) => [s.name, 'up'])) });
  });
});
