import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { getIntrospectionQuery } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger, type RunningService } from '@mercado/service-kit';
import { startGateway, type GatewayOptions } from './gateway.ts';
import { developmentInternalTokenSecret } from '@mercado/service-kit';
import { testInternalSecret } from '@mercado/service-kit/testing';
import { subgraphs } from './subgraphs.ts';

/**
 * The gateway over stand-in subgraphs: one that answers /health and /ready and nothing else promptly, one
 * that never answers GraphQL, and a port where nothing listens. What the real subgraphs do
 * through the gateway is tested end to end in e2e.
 */
const supergraphSdl = readFileSync(new URL('../supergraph.graphql', import.meta.url), 'utf8');
const closedPort = 'http://127.0.0.1:9/graphql';
let healthy: Server;
let healthyUrl: string;
let gateway: RunningService;

function standIn(): Promise<Server> {
  // /health and /ready answer; GraphQL requests are left hanging, as a stuck subgraph would.
  const server = createServer((req, res) => {
    if (req.url === '/health') res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
    if (req.url === '/ready') res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ready","checks":{}}');
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

function options(overrides: Partial<GatewayOptions> = {}): GatewayOptions {
  return {
    supergraphSdl,
    subgraphUrls: Object.fromEntries(subgraphs.map(({ name }) => [name, healthyUrl])),
    auth: { jwksUrl: 'http://127.0.0.1:9/jwks', issuer: 'mercado-accounts', audience: 'mercado' },
    internalTokenSecret: testInternalSecret,
    production: false,
    logger: createLogger('gateway', 'silent'),
    port: 0,
    ...overrides,
  };
}

beforeAll(async () => {
  healthy = await standIn();
  healthyUrl = `http://127.0.0.1:${(healthy.address() as AddressInfo).port}/graphql`;
  gateway = await startGateway(options({ subgraphTimeoutMs: 300, readinessTimeoutMs: 500 }));
});
afterAll(async () => {
  await gateway?.close();
  healthy.closeAllConnections();
  await new Promise((resolve) => healthy.close(resolve));
});

const firstError = async (res: Response) => ((await res.json()) as { errors: Array<{ message: string; extensions: { code: string } }> }).errors[0]!;
const post = (body: unknown, headers: Record<string, string> = {}) =>
  fetch(gateway.url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });

describe('gateway', () => {
  it("turns off @apollo/gateway's usage reporting to Apollo unless the operator asked for it", () => {
    // Read by Apollo's constructor (beforeAll started a gateway): unset, Apollo reports usage to
    // itself and probes the clouds' metadata endpoints. An operator's own value is left alone (??=).
    expect(process.env.APOLLO_TELEMETRY_DISABLED).toMatch(/^(true|1)$/);
  });

  it('gives up on a subgraph that does not answer in time, without naming it', async () => {
    const res = await post({ query: '{ categories }' });
    const text = await res.text();
    expect(res.status).toBe(200);
    expect(JSON.parse(text)).toEqual({
      data: null,
      errors: [{ message: 'A service needed for this request is unavailable; try again shortly', extensions: { code: 'SERVICE_UNAVAILABLE' } }],
    });
    expect(text).not.toMatch(/127\.0\.0\.1|catalog|ETIMEDOUT/);
  });

  it('is alive on /health and ready on /ready when every subgraph answers', async () => {
    expect(await (await fetch(`${gateway.baseUrl}/health`)).json()).toEqual({ status: 'ok' });
    const ready = await fetch(`${gateway.baseUrl}/ready`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready', checks: Object.fromEntries(subgraphs.map(({ name }) => [name, 'up'])) });
  });

  it('is not ready while a subgraph is down, and names it without its address', async () => {
    const degraded = await startGateway(options({ subgraphUrls: { ...options().subgraphUrls, reviews: closedPort }, readinessTimeoutMs: 500 }));
    try {
      const res = await fetch(`${degraded.baseUrl}/ready`);
      const text = await res.text();
      expect(res.status).toBe(503);
      expect(JSON.parse(text)).toMatchObject({ status: 'unavailable', down: ['reviews'], checks: { reviews: 'down', catalog: 'up' } });
      expect(text).not.toMatch(/127\.0\.0\.1|http/);
      expect((await fetch(`${degraded.baseUrl}/health`)).status).toBe(200);
    } finally {
      await degraded.close();
    }
  });

  it('sets security headers on every response, with a JSON-only content policy', async () => {
    for (const res of [await fetch(`${gateway.baseUrl}/health`), await post({ query: '{ nope }' }), await fetch(`${gateway.baseUrl}/nowhere`)]) {
      expect(Object.fromEntries(['x-content-type-options', 'referrer-policy', 'x-frame-options', 'content-security-policy', 'strict-transport-security'].map((h) => [h, res.headers.get(h)]))).toEqual({
        'x-content-type-options': 'nosniff',
        'referrer-policy': 'no-referrer',
        'x-frame-options': 'DENY',
        'content-security-policy': expect.stringMatching(/^default-src 'none'/),
        'strict-transport-security': null,
      });
    }
  });

  it('serves the development Sandbox page without the JSON policy, which would blank it', async () => {
    const res = await fetch(gateway.url, { headers: { accept: 'text/html' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/text\/html/);
    expect(await res.text()).toMatch(/embeddable-sandbox/);
    expect(res.headers.get('content-security-policy')).toBeNull();
    expect(res.headers.get('x-frame-options')).toBe('DENY');
  });

  it('has no /admin routes unless the queue dashboard is configured', async () => {
    for (const path of ['/admin/queues', '/admin/queues/', '/admin/session']) {
      const res = await fetch(`${gateway.baseUrl}${path}`, { method: path.endsWith('session') ? 'POST' : 'GET' });
      expect(res.status, path).toBe(404);
      expect((await firstError(res)).extensions.code).toBe('NOT_FOUND');
    }
  });

  it("answers the full introspection query Sandbox sends in development, within every limit", async () => {
    const query = getIntrospectionQuery({ descriptions: true, specifiedByUrl: true, directiveIsRepeatable: true, schemaDescription: true, inputValueDeprecation: true });
    const res = await post({ query }, { origin: 'https://sandbox.embed.apollographql.com' });
    const body = (await res.json()) as { data?: { __schema: { types: Array<{ name: string }> } }; errors?: unknown };
    expect(body.errors).toBeUndefined();
    expect(body.data!.__schema.types.map((t) => t.name)).toContain('Product');
  });

  it('answers CORS preflights from allowed origins and refuses other origins', async () => {
    const preflight = (origin: string) =>
      fetch(gateway.url, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type, authorization' } });
    for (const origin of ['http://localhost:5173', 'https://studio.apollographql.com', 'https://sandbox.embed.apollographql.com']) {
      const res = await preflight(origin);
      expect(res.status).toBe(204);
      expect(res.headers.get('access-control-allow-origin')).toBe(origin);
      expect(res.headers.get('access-control-allow-headers')).toMatch(/authorization/);
    }
    for (const origin of ['https://evil.example', 'http://localhost.evil.example:80', 'null']) {
      const res = await preflight(origin);
      expect(res.status).toBe(403);
      expect(res.headers.get('access-control-allow-origin')).toBeNull();
      expect((await firstError(res)).extensions.code).toBe('ORIGIN_NOT_ALLOWED');
    }
    expect((await post({ query: '{ categories }' }, { origin: 'https://evil.example' })).status).toBe(403);
    // The gateway's own pages (Sandbox) call it from its own origin.
    const own = await post({ query: '{ __typename }' }, { origin: new URL(gateway.baseUrl).origin });
    expect(own.status).toBe(200);
  });

  it('refuses an oversized body, streamed or declared, and keeps serving on fresh connections', async () => {
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent >= 300_000) return controller.close();
        controller.enqueue(new TextEncoder().encode('x'.repeat(50_000)));
        sent += 50_000;
      },
    });
    const streamed = await fetch(gateway.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: stream, duplex: 'half' } as RequestInit);
    expect(streamed.status).toBe(413);
    expect(streamed.headers.get('connection')).toBe('close');
    expect((await firstError(streamed)).extensions.code).toBe('PAYLOAD_TOO_LARGE');
    expect((await post({ query: '{ __typename }', variables: { padding: 'x'.repeat(200_000) } })).status).toBe(413);
    // The unread rest of a refused body must not leave a connection that stalls the next request.
    for (let i = 0; i < 5; i++) {
      const res = await fetch(gateway.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ __typename }' }), signal: AbortSignal.timeout(5_000) });
      expect(await res.json()).toEqual({ data: { __typename: 'Query' } });
    }
  });

  it('estimates cost with the variables and refuses lists of lists before calling a subgraph', async () => {
    const query = 'query Nested($n: Int, $m: Int) { products(first: $n) { edges { node { reviews(first: $m) { author { reviews(first: $m) { body } } } } } } }';
    const res = await post({ query, variables: { n: 100, m: 50 } });
    expect(res.status).toBe(400);
    expect(await firstError(res)).toMatchObject({ extensions: { code: 'COST_LIMIT_EXCEEDED', cost: { estimated: 260_201, max: 20_000 } } });
  });

  it('reports the estimated and actual cost when asked to', async () => {
    const reporting = await startGateway(options({ demandControl: { report: true } }));
    try {
      const res = await fetch(reporting.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ __schema { queryType { name } types { name } } }' }) });
      const body = (await res.json()) as { data: { __schema: { types: unknown[] } }; extensions: { cost: unknown } };
      expect(body.extensions.cost).toEqual({ estimated: 1 + 1 + 10, actual: 1 + 1 + body.data.__schema.types.length, max: 20_000 });
    } finally {
      await reporting.close();
    }
  });

  it('refuses NUL bytes, and names APQ hash mismatches and versions', async () => {
    const nul = await post({ query: 'mutation($e: String!) { login(email: $e, password: "x") { token } }', variables: { e: 'a\u0000@b.c' } });
    expect(nul.status).toBe(400);
    expect((await firstError(nul)).extensions.code).toBe('BAD_USER_INPUT');
    const mismatch = await post({ query: '{ __typename }', extensions: { persistedQuery: { version: 1, sha256Hash: 'a'.repeat(64) } } });
    expect([mismatch.status, (await firstError(mismatch)).extensions.code]).toEqual([400, 'PERSISTED_QUERY_HASH_MISMATCH']);
    const version = await post({ query: '{ __typename }', extensions: { persistedQuery: { version: 3, sha256Hash: 'a'.repeat(64) } } });
    expect([version.status, (await firstError(version)).extensions.code]).toEqual([400, 'PERSISTED_QUERY_VERSION_NOT_SUPPORTED']);
  });

  it('returns no query plan for the Apollo-Query-Plan-Experimental header', async () => {
    const res = await post({ query: '{ categories }' }, { 'apollo-query-plan-experimental': '1', 'apollo-query-plan-experimental-format': 'internal' });
    expect(JSON.stringify(await res.json())).not.toMatch(/queryPlan|Fetch|serviceName/i);
  });

  it('refuses batched operations', async () => {
    const res = await post([{ query: '{ __typename }' }, { query: '{ __typename }' }]);
    expect(res.status).toBe(400);
    expect(await firstError(res)).toMatchObject({ message: expect.stringMatching(/batching/i), extensions: { code: 'BAD_REQUEST' } });
  });

  it('refuses to start in production with the development secret or without trusted documents', async () => {
    await expect(startGateway(options({ production: true, trustedDocuments: new Map(), internalTokenSecret: developmentInternalTokenSecret }))).rejects.toThrow(/INTERNAL_TOKEN_SECRET is the old development default/);
    await expect(startGateway(options({ production: true }))).rejects.toThrow(/trusted documents/);
  });
});
