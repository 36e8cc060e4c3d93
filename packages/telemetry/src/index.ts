import { AsyncLocalStorage } from 'node:async_hooks';
import { context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Context, type Span } from '@opentelemetry/api';

/**
 * Traces with OpenTelemetry, configured the standard way (OTEL_* variables) and off unless asked:
 * an exporter is set up only when OTEL_EXPORTER_OTLP_ENDPOINT (or _TRACES_ENDPOINT) or
 * OTEL_TRACES_EXPORTER is set, and OTEL_SDK_DISABLED=true turns everything off. Off, the SDK is
 * not even loaded and the spans below cost a no-op call each.
 *
 * The spans come from Mercado's own code rather than from patching modules at load time (which
 * a bundled ES module makes fragile): the HTTP server and the gateway's subgraph client, the
 * outbox relay and the event consumer, the saga bus; Prisma's own instrumentation adds the SQL.
 * Sampling: the SDK's default, parentbased_always_on, unless OTEL_TRACES_SAMPLER says otherwise
 * (production: parentbased_traceidratio with OTEL_TRACES_SAMPLER_ARG=0.1). Spans are batched and
 * dropped when the collector is down and the queue (2,048 spans) is full: a collector outage
 * costs spans, never requests.
 */
export const tracer = trace.getTracer('mercado');

let active = false;

/** Whether spans are recorded in this process (an SDK was started). */
export const tracingActive = () => active;

/** For tests that register a tracer provider of their own (the SDK's in-memory exporter). */
export function markTracingActive(on = true): void {
  active = on;
}

/** Whether the OTEL_* variables ask for traces. */
export function tracingRequested(env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.OTEL_SDK_DISABLED === 'true') return false;
  if (env.OTEL_TRACES_EXPORTER) return env.OTEL_TRACES_EXPORTER !== 'none';
  return Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT);
}

export interface Telemetry {
  /** Flushes the spans still queued and stops the SDK. */
  shutdown(): Promise<void>;
}

/**
 * Starts the OpenTelemetry SDK for this process when the environment asks for traces (see
 * above); `serviceName` unless OTEL_SERVICE_NAME names it otherwise.
 */
export async function startTelemetry(serviceName: string, env: NodeJS.ProcessEnv = process.env): Promise<Telemetry | undefined> {
  if (!tracingRequested(env)) return undefined;
  const [{ NodeSDK }, { PrismaInstrumentation }] = await Promise.all([import('@opentelemetry/sdk-node'), import('@prisma/instrumentation')]);
  const sdk = new NodeSDK({
    serviceName: env.OTEL_SERVICE_NAME ?? serviceName,
    // Traces only: metrics are Prometheus' (/metrics), logs are pino's.
    instrumentations: [new PrismaInstrumentation()],
  });
  sdk.start();
  active = true;
  return {
    async shutdown() {
      active = false;
      await sdk.shutdown().catch(() => {});
    },
  };
}

/** W3C trace context of `ctx` (the active one by default) as headers: `traceparent` (and `tracestate`). */
export function traceHeaders(ctx: Context = context.active()): Record<string, string> {
  const carrier: Record<string, string> = {};
  if (active) propagation.inject(ctx, carrier);
  return carrier;
}

/** The context a set of W3C headers carries; a malformed or missing `traceparent` gives a new trace's root. */
export function contextFromHeaders(headers: Record<string, unknown> | undefined): Context {
  if (!active || !headers) return ROOT_CONTEXT;
  return propagation.extract(ROOT_CONTEXT, headers, {
    get: (carrier, key) => {
      const value = (carrier as Record<string, unknown>)[key];
      return typeof value === 'string' ? value : Array.isArray(value) ? (value as string[]).map(String) : undefined;
    },
    keys: (carrier) => Object.keys(carrier as object),
  });
}

/**
 * Runs `fn` in a new span (child of `parent`, or of the active context), ending it when `fn`
 * settles and marking it failed when `fn` throws. Without tracing, just runs `fn`.
 */
export async function inSpan<T>(
  name: string,
  options: { kind?: SpanKind; attributes?: Record<string, string | number | boolean>; parent?: Context; links?: Array<{ context: Context }> },
  fn: (span: Span) => Promise<T>,
): Promise<T> {
  if (!active) return fn(trace.wrapSpanContext({ traceId: '0'.repeat(32), spanId: '0'.repeat(16), traceFlags: 0 }));
  const parent = options.parent ?? context.active();
  const links = options.links?.map((link) => trace.getSpanContext(link.context)).filter((c) => c !== undefined).map((c) => ({ context: c! }));
  const span = tracer.startSpan(name, { kind: options.kind ?? SpanKind.INTERNAL, ...(options.attributes ? { attributes: options.attributes } : {}), ...(links?.length ? { links } : {}) }, parent);
  try {
    return await context.with(trace.setSpan(parent, span), () => fn(span));
  } catch (error) {
    span.recordException(error as Error);
    span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message });
    throw error;
  } finally {
    span.end();
  }
}

/** What a log line written while serving something says it belongs to. */
export interface WorkContext {
  /** The client request's id, as the gateway forwarded it. */
  requestId?: string;
}

/** The request (or event, or job) the code runs for; logger lines carry it. */
export const workContext = new AsyncLocalStorage<WorkContext>();

/** The fields every log line gets: the trace and span it was written in, and the request id. */
export function logCorrelation(): Record<string, string> {
  const fields: Record<string, string> = {};
  const span = active ? trace.getSpan(context.active())?.spanContext() : undefined;
  if (span && trace.isSpanContextValid(span)) {
    fields.trace_id = span.traceId;
    fields.span_id = span.spanId;
  }
  const work = workContext.getStore();
  if (work?.requestId) fields.request_id = work.requestId;
  return fields;
}

export { SpanKind, SpanStatusCode };
