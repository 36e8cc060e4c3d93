import type { ApolloServerPlugin } from '@apollo/server';
import { context as otelContext, trace, type Context, type Span } from '@opentelemetry/api';
import { SpanKind, SpanStatusCode, tracer, tracingActive } from '@mercado/telemetry';
import { boundedLabel, type Logger } from '@mercado/service-kit';
import { Counter, Histogram, register } from 'prom-client';
import type { GatewayPlugin } from './plugin.ts';

/**
 * What the gateway tells Prometheus, and the spans it adds to a client operation's trace.
 *
 * Metric names follow Prometheus' conventions (base units in the name, `_total` counters) and
 * are the ones docs/observability.md and the Grafana dashboard use. Operation names come from
 * clients, so their label is bounded (`boundedLabel`): past 200 distinct names, `other`.
 */

/** A metric registered once per process (tests start several gateways in one). */
function metric<T>(name: string, create: () => T): T {
  return (register.getSingleMetric(name) as T | undefined) ?? create();
}

const latencyBuckets = [0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export const gatewayMetrics = {
  requests: metric(
    'mercado_gateway_requests_total',
    () => new Counter({ name: 'mercado_gateway_requests_total', help: 'Client GraphQL operations answered, by operation name and outcome (ok, error, refused)', labelNames: ['operation', 'outcome'] }),
  ),
  requestDuration: metric(
    'mercado_gateway_request_duration_seconds',
    () =>
      new Histogram({
        name: 'mercado_gateway_request_duration_seconds',
        help: 'Time from a client operation reaching GraphQL to its response, by operation name and outcome',
        labelNames: ['operation', 'outcome'],
        buckets: latencyBuckets,
      }),
  ),
  fetchDuration: metric(
    'mercado_gateway_subgraph_fetch_duration_seconds',
    () =>
      new Histogram({
        name: 'mercado_gateway_subgraph_fetch_duration_seconds',
        help: 'Time one request to a subgraph took, whole answer read, by subgraph',
        labelNames: ['subgraph'],
        buckets: latencyBuckets,
      }),
  ),
  fetchErrors: metric(
    'mercado_gateway_subgraph_fetch_errors_total',
    () =>
      new Counter({
        name: 'mercado_gateway_subgraph_fetch_errors_total',
        help: 'Requests to a subgraph that failed, by subgraph and reason (timeout, unreachable, http_4xx, http_5xx)',
        labelNames: ['subgraph', 'reason'],
      }),
  ),
  deduplicated: metric(
    'mercado_gateway_deduplicated_fetches_total',
    () =>
      new Counter({
        name: 'mercado_gateway_deduplicated_fetches_total',
        help: 'Subgraph requests not sent because an identical one for the same identity was in flight, by subgraph',
        labelNames: ['subgraph'],
      }),
  ),
  refused: metric(
    'mercado_gateway_refused_requests_total',
    () =>
      new Counter({
        name: 'mercado_gateway_refused_requests_total',
        help: 'Requests refused before execution, by reason (the error code in lower case: rate_limited, payload_too_large, origin_not_allowed, graphql_validation_failed, ...)',
        labelNames: ['reason'],
      }),
  ),
};

/** Counts a refusal by its stable error code. */
export function countRefusal(code: string): void {
  gatewayMetrics.refused.inc({ reason: code.toLowerCase() });
}

/** Codes that mean the request was refused before it ran (its operation never reached a subgraph). */
const refusalCodes = new Set(['GRAPHQL_PARSE_FAILED', 'GRAPHQL_VALIDATION_FAILED', 'PERSISTED_QUERY_NOT_FOUND', 'PERSISTED_QUERY_NOT_SUPPORTED', 'BAD_USER_INPUT', 'OPERATION_RESOLUTION_FAILURE']);

/** Where the trace of one client operation continues: the executor's and the fetches' parent. */
export interface OperationTrace {
  /** The operation span's context, set while the operation runs and tracing is on. */
  operationTrace?: Context;
}

/** Runs `fn` in the operation's trace context (when there is one), so that subgraph fetch spans nest under it. */
export function inOperationTrace<T>(contextValue: OperationTrace | undefined, fn: () => T): T {
  const ctx = contextValue?.operationTrace;
  return ctx ? otelContext.with(ctx, fn) : fn();
}

/**
 * The gateway's Apollo plugin for what an operator sees of each client operation:
 * - a span per operation (`query ProductPage`, attributes: operation name and type, document
 *   hash, whether a user is signed in; never who), children for parsing and validation, the
 *   executor adds planning and one span per subgraph fetch;
 * - the request counter and latency histogram by operation and outcome, refusals by reason;
 * - one log line per operation (info when it went well, warn with the error codes when not), with
 *   the user's id, carrying the request and trace ids as every line does.
 */
export function gatewayObservability<TContext extends OperationTrace & { viewer?: { id: string } | null }>(logger: Logger): ApolloServerPlugin<TContext> {
  const operationLabel = boundedLabel(200);
  return {
    async requestDidStart({ contextValue }) {
      const started = performance.now();
      let operation: string | undefined;
      let span: Span | undefined;
      let spanContext: Context | undefined;
      if (tracingActive()) {
        const parent = otelContext.active();
        span = tracer.startSpan('graphql operation', { kind: SpanKind.INTERNAL, attributes: { 'mercado.authenticated': Boolean(contextValue.viewer) } }, parent);
        spanContext = trace.setSpan(parent, span);
        contextValue.operationTrace = spanContext;
      }
      const phase = (name: string) => {
        if (!spanContext) return undefined;
        const child = tracer.startSpan(name, { kind: SpanKind.INTERNAL }, spanContext);
        return async (error?: unknown) => {
          if (error) child.setStatus({ code: SpanStatusCode.ERROR });
          child.end();
        };
      };
      return {
        async parsingDidStart() {
          return phase('graphql.parse');
        },
        async validationDidStart() {
          const end = phase('graphql.validate');
          return end ? async (errors?: readonly Error[]) => end(errors?.length ? errors[0] : undefined) : undefined;
        },
        async didResolveOperation({ operationName, operation: definition, queryHash }) {
          operation = operationName ?? undefined;
          if (span) {
            span.updateName(`${definition?.operation ?? 'graphql'} ${operationName ?? 'anonymous'}`);
            if (operationName) span.setAttribute('graphql.operation.name', operationName);
            if (definition) span.setAttribute('graphql.operation.type', definition.operation);
            span.setAttribute('graphql.document.hash', queryHash);
          }
        },
        async willSendResponse({ errors, response }) {
          const seconds = (performance.now() - started) / 1000;
          const single = response.body.kind === 'single' ? response.body.singleResult : undefined;
          const codes = [...(errors ?? []), ...(single?.errors ?? [])].map((error) => String(error.extensions?.code ?? 'INTERNAL_SERVER_ERROR'));
          const refusal = errors?.length && single?.data === undefined ? codes.find((code) => refusalCodes.has(code)) : undefined;
          const outcome = refusal ? 'refused' : codes.length ? 'error' : 'ok';
          if (refusal) countRefusal(refusal);
          const label = operationLabel(operation);
          gatewayMetrics.requests.inc({ operation: label, outcome });
          gatewayMetrics.requestDuration.observe({ operation: label, outcome }, seconds);
          const ms = Math.round(seconds * 1000);
          // The access log: info, with the user's id (never a name or address), failures with their codes.
          const user = contextValue.viewer?.id;
          if (outcome === 'ok') logger.info({ operation, outcome, ms, user }, 'graphql operation');
          else logger.warn({ operation, outcome, ms, user, codes: [...new Set(codes)] }, 'graphql operation');
          if (span) {
            span.setAttribute('mercado.outcome', outcome);
            if (outcome !== 'ok') span.setStatus({ code: SpanStatusCode.ERROR, message: codes[0] });
            span.end();
          }
        },
      };
    },
  };
}

/** A span around the planning of an operation the executor compiles (cached plans cost none). */
export function planSpan<T>(fn: () => T): T {
  if (!tracingActive()) return fn();
  const span = tracer.startSpan('graphql.plan', { kind: SpanKind.INTERNAL });
  try {
    return fn();
  } finally {
    span.end();
  }
}

/** The gateway's spans, metrics and access log of each operation, as a gateway plugin. */
export function useObservability<TContext extends OperationTrace & { viewer?: { id: string } | null }>(logger: Logger): GatewayPlugin<TContext> {
  return { name: 'observability', apollo: gatewayObservability<TContext>(logger) };
}
