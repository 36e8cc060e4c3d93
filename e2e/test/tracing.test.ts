/**
 * Traces, metrics and logs of the system running as it runs in production (each service its own
 * compiled process, OTEL_* variables pointing at a collector: here an OTLP/JSON endpoint of the
 * test's own, test/support/otlpReceiver.ts).
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootstrapReadModels, declareBroker, dropStack, prepareDatabases, startSystem, type RunningSystem } from '@mercado/bring-up';
import { seedProducts } from '@mercado/dev-seed';
import { gatewayHeaders, testInternalSecret } from '@mercado/service-kit/testing';
import type { Stack } from '@mercado/system';
import { freshStack } from './support/freshStack.ts';
import { OtlpReceiver, type ReceivedSpan } from './support/otlpReceiver.ts';

const INTERNAL = 1;
const SERVER = 2;
const CLIENT = 3;
const PRODUCER = 4;
const CONSUMER = 5;
const admin = { id: '00000000-0000-4000-8000-0000000000ad', role: 'admin' as const };

let stack: Stack;
let system: RunningSystem;
const receiver = new OtlpReceiver();
const lines: Record<string, string[]> = {};


beforeAll(async () => {
  stack = await freshStack('tracing', 1);
  await receiver.start();
  await prepareDatabases(stack);
  await declareBroker(stack);
  await bootstrapReadModels(stack);
  system = await startSystem({
    stack,
    secret: testInternalSecret,
    env: { ...receiver.environment(), LOG_LEVEL: 'debug' },
    // Log lines are JSON; anything else on a process's output (Node's own warnings) is shown, not parsed.
    onLine: (label, line) => (line.startsWith('{') ? (lines[label] ??= []).push(line) : console.warn(`[${label}] ${line}`)),
  });
}, 300_000);

afterAll(async () => {
  await system?.stop();
  await receiver.close();
  if (stack) await dropStack(stack);
}, 120_000);

const service = (name: string) => system.services.find((p) => p.name === name)!;

/** An admin's price change sent straight to catalog, as the gateway would send it, with a traceparent of ours. */
async function changePrice(traceparent: string, operationName = 'ChangePrice') {
  const res = await fetch(service('catalog').url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', traceparent, ...(await gatewayHeaders(admin)) },
    body: JSON.stringify({
      query: `mutation ${operationName}($id: ID!, $cents: Int!) { updateProductPrice(id: $id, priceCents: $cents) { priceCents } }`,
      variables: { id: seedProducts[3]!.id, cents: 1_000 + Math.floor(Math.random() * 50_000) },
    }),
  });
  return { status: res.status, body: (await res.json()) as { data?: unknown; errors?: unknown[] } };
}

const metrics = async (name: string) => (await fetch(`${service(name).managementUrl}/metrics`)).text();
const sample = (text: string, series: string) => Number(new RegExp(`^${series.replace(/[{}()[\]."=]/g, '\\$&')} ([0-9.e+-]+)$`, 'm').exec(text)?.[1] ?? NaN);

describe('traces, metrics and logs across processes', () => {
  it("continues a caller's trace through catalog, its SQL, the outbox relay, the broker and every consumer", async () => {
    const traceId = randomBytes(16).toString('hex');
    const callerSpanId = randomBytes(8).toString('hex');
    expect(await changePrice(`00-${traceId}-${callerSpanId}-01`)).toMatchObject({ status: 200, body: { data: { updateProductPrice: {} } } });

    const consumers = ['inventory', 'orders', 'reviews'];
    const publish = (spans: ReceivedSpan[]) => spans.find((s) => s.traceId === traceId && s.name === 'catalog.ProductPriceChanged publish');
    await receiver.until('every consumer span of the price change', (spans) => {
      const published = publish(spans);
      return Boolean(published) && consumers.every((c) => spans.some((s) => s.service === c && s.name === 'catalog.ProductPriceChanged process' && s.traceId === traceId));
    });
    const trace = receiver.inTrace(traceId);
    const server = trace.find((s) => s.service === 'catalog' && s.kind === SERVER)!;
    expect(server).toMatchObject({ name: 'POST /graphql', parentSpanId: callerSpanId, attributes: { 'graphql.operation.name': 'ChangePrice', 'http.response.status_code': 200 } });
    // SQL, from Prisma's own instrumentation, inside the request.
    expect(trace.filter((s) => s.service === 'catalog' && s.name.startsWith('prisma:')).length).toBeGreaterThan(0);
    const published = publish(trace)!;
    expect(published).toMatchObject({ service: 'catalog', kind: PRODUCER, attributes: { 'messaging.system': 'rabbitmq' } });
    for (const consumer of consumers) {
      expect(trace.find((s) => s.service === consumer && s.name === 'catalog.ProductPriceChanged process'), consumer).toMatchObject({ kind: CONSUMER, parentSpanId: published.spanId });
    }
  });

  it('writes the trace and request ids on the log lines of a request', async () => {
    const traceId = randomBytes(16).toString('hex');
    await changePrice(`00-${traceId}-${randomBytes(8).toString('hex')}-01`, 'LoggedChange');
    const line = () => (lines.catalog ?? []).map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.trace_id === traceId && l.msg === 'graphql request');
    const deadline = Date.now() + 30_000;
    while (!line() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
    expect(line()).toMatchObject({ operation: 'LoggedChange', outcome: 'ok', request_id: 'test', span_id: expect.stringMatching(/^[0-9a-f]{16}$/) });
  });

  it('starts a new trace for a malformed traceparent, and answers as usual', async () => {
    expect((await changePrice('00-not-a-trace-at-all', 'MalformedTraceparent')).status).toBe(200);
    await receiver.until('the request span', (spans) => spans.some((s) => s.attributes['graphql.operation.name'] === 'MalformedTraceparent'));
    const span = receiver.spans.find((s) => s.attributes['graphql.operation.name'] === 'MalformedTraceparent')!;
    expect(span.parentSpanId).toBe('');
    expect(span.traceId).toMatch(/^[0-9a-f]{32}$/);
  });

  it('exposes GraphQL durations, the outbox, parked messages and replication lag on the management ports, moving with traffic', async () => {
    const requests = 'mercado_graphql_request_duration_seconds_count{service="catalog",operation="MeteredChange",outcome="ok"}';
    const lag = 'mercado_event_replication_lag_seconds_count{consumer="orders",type="ProductPriceChanged"}';
    const lagBefore = sample(await metrics('orders'), lag) || 0;
    await changePrice(`00-${randomBytes(16).toString('hex')}-${randomBytes(8).toString('hex')}-01`, 'MeteredChange');
    await changePrice(`00-${randomBytes(16).toString('hex')}-${randomBytes(8).toString('hex')}-01`, 'MeteredChange');
    expect(sample(await metrics('catalog'), requests)).toBe(2);
    const deadline = Date.now() + 30_000;
    while (sample(await metrics('orders'), lag) < lagBefore + 2 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 200));
    expect(sample(await metrics('orders'), lag)).toBeGreaterThanOrEqual(lagBefore + 2);
    const catalog = await metrics('catalog');
    expect(sample(catalog, 'mercado_outbox_events{service="catalog"}')).toBeGreaterThanOrEqual(0);
    expect(sample(catalog, 'mercado_outbox_oldest_event_age_seconds{service="catalog"}')).toBeGreaterThanOrEqual(0);
    expect(sample(catalog, 'mercado_events_published_total{service="catalog"}')).toBeGreaterThan(0);
    expect(sample(await metrics('orders'), 'mercado_event_parked_messages{consumer="orders"}')).toBe(0);
    expect(catalog).toMatch(/^process_cpu_seconds_total /m);
  });
});

describe("the gateway's part", () => {
  const gatewayUrl = () => system.gateways[0]!.url;
  const productPage = `query TracedProductPage { products(first: 3) { edges { node { name stock { available } averageRating } } } }`;

  it('traces a client operation: parsing, validation, planning, one fetch per subgraph, each continued by the subgraph it calls', async () => {
    const traceId = randomBytes(16).toString('hex');
    const clientSpanId = randomBytes(8).toString('hex');
    const res = await fetch(gatewayUrl(), {
      method: 'POST',
      headers: { 'content-type': 'application/json', traceparent: `00-${traceId}-${clientSpanId}-01`, 'x-request-id': 'traced-page' },
      body: JSON.stringify({ query: productPage }),
    });
    expect(res.status).toBe(200);
    expect((await res.json()) as object).not.toHaveProperty('errors');

    const fetched = ['catalog', 'inventory', 'reviews'];
    await receiver.until('the subgraphs continuing the gateway\'s fetches', (spans) =>
      fetched.every((name) => spans.some((s) => s.traceId === traceId && s.service === name && s.kind === SERVER)) &&
      spans.some((s) => s.traceId === traceId && s.name === 'query TracedProductPage'),
    );
    const trace = receiver.inTrace(traceId);
    const gatewaySpans = trace.filter((s) => s.service === 'gateway');
    const server = gatewaySpans.find((s) => s.kind === SERVER)!;
    expect(server).toMatchObject({ name: 'POST /graphql', parentSpanId: clientSpanId });
    const operation = gatewaySpans.find((s) => s.name === 'query TracedProductPage')!;
    expect(operation).toMatchObject({ kind: INTERNAL, parentSpanId: server.spanId, attributes: { 'graphql.operation.name': 'TracedProductPage', 'graphql.operation.type': 'query' } });
    expect(operation.attributes['graphql.document.hash']).toMatch(/^[0-9a-f]{64}$/);
    for (const phase of ['graphql.parse', 'graphql.validate', 'graphql.plan']) {
      expect(gatewaySpans.find((s) => s.name === phase), phase).toMatchObject({ parentSpanId: operation.spanId });
    }
    for (const name of fetched) {
      const fetchSpan = gatewaySpans.find((s) => s.name === `fetch ${name}`);
      expect(fetchSpan, `fetch ${name}`).toMatchObject({ kind: CLIENT, parentSpanId: operation.spanId, attributes: { 'mercado.subgraph': name, 'http.response.status_code': 200 } });
      // The subgraph's request span is the fetch's child: the trace crosses the process boundary.
      expect(trace.find((s) => s.service === name && s.kind === SERVER), name).toMatchObject({ parentSpanId: fetchSpan!.spanId });
    }
    // Who asked is not written on the trace.
    expect(JSON.stringify(gatewaySpans)).not.toMatch(/authorization|bearer/i);
  });

  it('counts operations by name and outcome, subgraph fetches and refusals on its management port, and logs each operation with its ids', async () => {
    const gatewayMetrics = async () => (await fetch(`${system.gateways[0]!.managementUrl}/metrics`)).text();
    const ok = 'mercado_gateway_requests_total{operation="MeteredPage",outcome="ok"}';
    const refused = 'mercado_gateway_refused_requests_total{reason="graphql_validation_failed"}';
    const before = await gatewayMetrics();
    for (let i = 0; i < 2; i++) {
      const res = await fetch(gatewayUrl(), { method: 'POST', headers: { 'content-type': 'application/json', 'x-request-id': `metered-${i}` }, body: JSON.stringify({ query: productPage.replace('TracedProductPage', 'MeteredPage') }) });
      expect(res.status).toBe(200);
    }
    const invalid = await fetch(gatewayUrl(), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ noSuchField }' }) });
    expect(invalid.status).toBe(400);
    const after = await gatewayMetrics();
    expect(sample(after, ok) - (sample(before, ok) || 0)).toBe(2);
    expect(sample(after, refused) - (sample(before, refused) || 0)).toBe(1);
    expect(sample(after, 'mercado_gateway_subgraph_fetch_duration_seconds_count{subgraph="catalog"}')).toBeGreaterThanOrEqual(2);
    expect(sample(after, 'mercado_gateway_request_duration_seconds_count{operation="MeteredPage",outcome="ok"}')).toBeGreaterThanOrEqual(2);
    expect(after).toMatch(/^process_resident_memory_bytes /m);

    const logged = () => (lines.gateway ?? []).map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.msg === 'graphql operation' && l.request_id === 'metered-1');
    const deadline = Date.now() + 30_000;
    while (!logged() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
    expect(logged()).toMatchObject({ operation: 'MeteredPage', outcome: 'ok', trace_id: expect.stringMatching(/^[0-9a-f]{32}$/) });
  });
});

describe('a saga, traced', () => {
  it("follows placeOrder from the gateway through every saga command and reply, four services, Redis and RabbitMQ, in one trace", async () => {
    const gatewayUrl = system.gateways[0]!.url;
    const post = async (query: string, variables: Record<string, unknown>, headers: Record<string, string> = {}) => {
      const res = await fetch(gatewayUrl, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ query, variables }) });
      return (await res.json()) as { data?: any; errors?: unknown[] };
    };
    const login = await post('mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token } }', { e: 'alice@mercado.dev', p: 'alice-password' });
    const auth = { authorization: `Bearer ${login.data.login.token}` };
    const traceId = randomBytes(16).toString('hex');
    const placed = await post(
      'mutation TracedOrder($input: PlaceOrderInput!) { placeOrder(input: $input) { id status } }',
      { input: { lines: [{ productId: seedProducts[5]!.id, quantity: 1 }], idempotencyKey: `traced-${randomBytes(6).toString('hex')}` } },
      { ...auth, traceparent: `00-${traceId}-${randomBytes(8).toString('hex')}-01` },
    );
    expect(placed.errors).toBeUndefined();

    // The saga's spans, all in the trace placeOrder started: each participant's command, each
    // reply the orchestrator applied, and the order's events through the broker.
    const inTrace = (spans: ReceivedSpan[]) => spans.filter((s) => s.traceId === traceId);
    // A participant's command span ends after its reply is sent, so the orchestrator can apply
    // the reply and export its span before the participant exports the command's: wait for both.
    await receiver.until('the saga to its last step, in the placeOrder trace', (spans) => {
      const trace = inTrace(spans);
      return (
        trace.filter((s) => s.service === 'orders' && s.name.startsWith('orders saga reply ')).length >= 4 &&
        trace.filter((s) => s.kind === CONSUMER && (s.service === 'inventory' || s.service === 'payments')).length >= 4 &&
        trace.some((s) => s.name === 'orders.OrderConfirmed process')
      );
    });
    const trace = inTrace(receiver.spans);
    const services = new Set(trace.map((s) => s.service));
    for (const name of ['gateway', 'orders', 'inventory', 'payments']) expect(services.has(name), name).toBe(true);
    expect(trace.find((s) => s.service === 'gateway' && s.name === 'mutation TracedOrder')).toBeDefined();
    const commands = trace.filter((s) => s.kind === CONSUMER && (s.service === 'inventory' || s.service === 'payments'));
    expect(commands.length).toBeGreaterThanOrEqual(4);
    const replies = trace.filter((s) => s.name.startsWith('orders saga reply '));
    // Each reply the orchestrator applied continues the span of the command that answered it.
    for (const reply of replies) expect(commands.map((c) => c.spanId)).toContain(reply.parentSpanId);
    // The participants' SQL is inside their command spans: the one statement of a usual
    // reservation goes straight to the pool (service-kit's directSql), with a client span of its own.
    const command = (service: string) => commands.filter((c) => c.service === service).map((c) => c.spanId);
    for (const service of ['inventory', 'payments']) {
      const statements = trace.filter((s) => s.service === service && s.kind === CLIENT && s.attributes['db.system.name'] === 'postgresql');
      expect(statements.length, service).toBeGreaterThan(0);
      for (const statement of statements) expect(command(service), service).toContain(statement.parentSpanId);
      expect(statements[0]!.attributes['db.query.text']).toMatch(/^\s*WITH/);
    }
    // The event the confirmed order publishes is delivered in the same trace (reviews consumes it).
    expect(trace.find((s) => s.name === 'orders.OrderConfirmed publish')).toBeDefined();
  });

  it('counts sagas by state, step durations and compensations on the orders management port', async () => {
    const text = await metrics('orders');
    expect(sample(text, 'mercado_sagas{type="placeOrder",state="COMPLETED"}')).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'mercado_saga_step_duration_seconds_count{step="reserveStock"}')).toBeGreaterThanOrEqual(1);
    expect(text).toMatch(/^# TYPE mercado_saga_compensations_total counter/m);
  });
});
