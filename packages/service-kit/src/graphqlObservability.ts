import type { ApolloServerPlugin, BaseContext } from '@apollo/server';
import { trace } from '@opentelemetry/api';
import { Histogram, register } from 'prom-client';
import type { Logger } from './logger.ts';

const durations =
  (register.getSingleMetric('mercado_graphql_request_duration_seconds') as Histogram<'service' | 'operation' | 'outcome'> | undefined) ??
  new Histogram({
    name: 'mercado_graphql_request_duration_seconds',
    help: "Time a subgraph took to answer one GraphQL request from the gateway, by the gateway's operation name and outcome",
    labelNames: ['service', 'operation', 'outcome'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
  });

/**
 * Bounds a label's values: a name that is not a plain identifier, or any name past the first
 * `max` distinct ones, counts as `other`. Operation names come from clients; without a bound
 * each new name would be a new time series.
 */
export function boundedLabel(max: number): (value: string | null | undefined) => string {
  const seen = new Set<string>();
  return (value) => {
    if (!value) return 'anonymous';
    if (seen.has(value)) return value;
    if (seen.size >= max || !/^[A-Za-z_][A-Za-z0-9_]{0,63}$/.test(value)) return 'other';
    seen.add(value);
    return value;
  };
}

/**
 * Each GraphQL request's duration and outcome as a Prometheus histogram, its operation on the
 * request's trace span (the HTTP server span: `graphql.operation.name` and `.type`), and a
 * debug-level log line (LOG_LEVEL=debug), which carries the trace and request ids as every line does.
 */
export function graphqlObservability<TContext extends BaseContext>(service: string, logger: Logger): ApolloServerPlugin<TContext> {
  const operationLabel = boundedLabel(200);
  return {
    async requestDidStart() {
      const started = performance.now();
      let operation: string | undefined;
      return {
        async didResolveOperation({ operationName, operation: definition }) {
          operation = operationName ?? undefined;
          const span = trace.getActiveSpan();
          if (span) {
            if (operationName) span.setAttribute('graphql.operation.name', operationName);
            if (definition) span.setAttribute('graphql.operation.type', definition.operation);
          }
        },
        async willSendResponse({ errors }) {
          const seconds = (performance.now() - started) / 1000;
          const outcome = errors?.length ? 'error' : 'ok';
          durations.observe({ service, operation: operationLabel(operation), outcome }, seconds);
          logger.debug({ operation, outcome, ms: Math.round(seconds * 1000) }, 'graphql request');
        },
      };
    },
  };
}
