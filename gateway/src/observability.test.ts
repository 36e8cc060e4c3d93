import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { context, trace } from '@opentelemetry/api';
import { InMemorySpanExporter, NodeTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-node';
import { markTracingActive, tracer } from '@mercado/telemetry';
import { register } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { subgraphFetcher } from './subgraphFetcher.ts';
import './observability.ts';

/**
 * The subgraph fetcher's part of the gateway's traces and metrics, with the SDK's in-memory
 * exporter; the whole tree across processes is e2e/test/tracing.test.ts.
 */
const exporter = new InMemorySpanExporter();
let server: Server;
let url: string;
const received: IncomingMessage['headers'][] = [];

beforeAll(async () => {
  new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }).register();
  markTracingActive(true);
  server = createServer((req, res) => {
    received.push(req.headers);
    req.resume();
    // Slow enough that the second identical query arrives while the first is in flight.
    req.on('end', () => setTimeout(() => res.writeHead(req.url === '/fail' ? 503 : 200, { 'content-type': 'application/json' }).end('{"data":{}}'), 100));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  markTracingActive(false);
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const metric = async (name: string, labels: string) => {
  const text = await register.metrics();
  return Number(new RegExp(`^${name}\\{${labels}\\} (\\S+)$`, 'm').exec(text)?.[1] ?? 0);
};
const post = { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ a }' }) };

describe("the gateway's subgraph fetches, observed", () => {
  it('sends each fetch as a child span of the operation, with its traceparent, and shares identical ones whatever their trace', async () => {
    const fetcher = subgraphFetcher('traced', 5_000, { dedupe: {} });
    const dedupedBefore = await metric('mercado_gateway_deduplicated_fetches_total', 'subgraph="traced"');
    const operations = [tracer.startSpan('query One'), tracer.startSpan('query Two')];
    received.length = 0;
    await Promise.all(operations.map((op) => context.with(trace.setSpan(context.active(), op), () => fetcher(`${url}/graphql`, post))));
    operations.forEach((op) => op.end());

    expect(received).toHaveLength(1);
    const fetches = exporter.getFinishedSpans().filter((s) => s.name === 'fetch traced');
    expect(fetches).toHaveLength(2);
    expect(fetches.map((s) => s.parentSpanContext?.spanId).sort()).toEqual(operations.map((op) => op.spanContext().spanId).sort());
    // The one request sent carries the trace of the first fetch; the other is marked as shared.
    const sent = fetches.find((s) => !s.attributes['mercado.deduplicated'])!;
    expect(received[0]!.traceparent).toBe(`00-${sent.spanContext().traceId}-${sent.spanContext().spanId}-01`);
    expect(fetches.filter((s) => s.attributes['mercado.deduplicated'] === true)).toHaveLength(1);
    expect(await metric('mercado_gateway_deduplicated_fetches_total', 'subgraph="traced"')).toBe(dedupedBefore + 1);
  });

  it('times every fetch sent and counts failures by reason', async () => {
    const fetcher = subgraphFetcher('failing', 5_000);
    const countBefore = await metric('mercado_gateway_subgraph_fetch_duration_seconds_count', 'subgraph="failing"');
    const response = await fetcher(`${url}/fail`, post);
    expect(response.status).toBe(503);
    await expect(subgraphFetcher('gone', 1_000)('http://127.0.0.1:9/graphql', post)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    expect(await metric('mercado_gateway_subgraph_fetch_duration_seconds_count', 'subgraph="failing"')).toBe(countBefore + 1);
    expect(await metric('mercado_gateway_subgraph_fetch_errors_total', 'subgraph="failing",reason="http_5xx"')).toBeGreaterThanOrEqual(1);
    expect(await metric('mercado_gateway_subgraph_fetch_errors_total', 'subgraph="gone",reason="unreachable"')).toBeGreaterThanOrEqual(1);
    const failed = exporter.getFinishedSpans().find((s) => s.name === 'fetch gone');
    expect(failed?.status.code).toBe(2);
  });
});
