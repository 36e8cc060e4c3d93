import { Agent, request, type IncomingHttpHeaders } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { RemoteGraphQLDataSource } from '@apollo/gateway';
import { context as otelContext, propagation, trace } from '@opentelemetry/api';
import { SpanKind, SpanStatusCode, tracer, tracingActive } from '@mercado/telemetry';
import { gatewayMetrics } from './observability.ts';

type Fetcher = RemoteGraphQLDataSource['fetcher'];
type FetcherResponse = Awaited<ReturnType<Fetcher>>;
type FetcherHeaders = FetcherResponse['headers'];
type FetcherRequestInit = NonNullable<Parameters<Fetcher>[1]>;

/** Connections the gateway keeps open to one subgraph at most; more requests queue on them. */
export const defaultMaxSocketsPerSubgraph = 64;

export interface SubgraphFetcherOptions {
  /** Open connections to this subgraph at most (default `defaultMaxSocketsPerSubgraph`). */
  maxSockets?: number;
  /**
   * Share one subgraph request between identical queries in flight at the same time: same URL,
   * same body, same headers (the header named `ignoreHeader` aside). Mutations are always sent.
   */
  dedupe?: { ignoreHeader?: string };
}

/** A subgraph's answer, read in full, that several callers may each wrap in a response of their own. */
interface Answer {
  status: number;
  statusText: string;
  headers: Record<string, string>;
  body: Buffer;
}

/**
 * Whether a request body sent by RemoteGraphQLDataSource is a query: the planner writes a
 * fetch's operation as `{...}` or `query ...`, a mutation as `mutation ...`.
 */
const isQueryBody = (body: string) => body.startsWith('{"query":"{') || body.startsWith('{"query":"query');

/**
 * The fetcher the gateway calls one subgraph with: node:http over a keep-alive connection pool
 * of its own (a bounded number of sockets, reused across client requests), aborted when the
 * whole answer has not arrived within `timeoutMs`. A subgraph that hangs then costs a client one
 * `SERVICE_UNAVAILABLE` error for the fields it owns (the rest of the response still arrives)
 * instead of a request that never ends.
 *
 * Plain node:http rather than fetch: Apollo's data source only needs status, headers and the
 * body as text or JSON, and WHATWG streams and header objects cost more CPU per subgraph call
 * than the rest of the call.
 */
export function subgraphFetcher(subgraph: string, timeoutMs: number, options: SubgraphFetcherOptions = {}): Fetcher {
  const maxSockets = options.maxSockets ?? defaultMaxSocketsPerSubgraph;
  // One pool per subgraph (the fetcher is built once per subgraph), so a slow subgraph cannot
  // take the sockets another one needs.
  const agents = {
    'http:': new Agent({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets, scheduling: 'lifo' }),
    'https:': new HttpsAgent({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets, scheduling: 'lifo' }),
  };

  const timedOut = () =>
    // A plain error in the same form as a refused connection: the gateway's error masking logs
    // it in full and tells the client SERVICE_UNAVAILABLE, without the subgraph's name or address.
    Object.assign(new Error(`subgraph ${subgraph} did not answer within ${timeoutMs} ms (ETIMEDOUT)`), { code: 'ETIMEDOUT' });
  const failed = (error: Error & { code?: string }) =>
    // Worded so that error masking recognises an unreachable service whatever node:http said.
    Object.assign(new Error(`request to subgraph ${subgraph} failed: ${error.message}`), { code: error.code, cause: error });

  const inFlight = new Map<string, Promise<Answer>>();
  // Per-request headers that do not change the answer: the request id, and the trace context
  // (a shared request then continues the trace of the first caller only).
  const ignored = new Set(['traceparent', 'tracestate', ...(options.dedupe?.ignoreHeader ? [options.dedupe.ignoreHeader.toLowerCase()] : [])]);
  const dedupeKey = (url: string, init: FetcherRequestInit): string | undefined => {
    if (!options.dedupe || init.method !== 'POST' || typeof init.body !== 'string' || !isQueryBody(init.body)) return undefined;
    const headers = Object.entries(init.headers ?? {})
      .filter(([name]) => !ignored.has(name.toLowerCase()))
      .map(([name, value]) => `${name.toLowerCase()}:${value}`)
      .sort()
      .join('\n');
    return `${url}\n${headers}\n${init.body}`;
  };

  // The data source calls with the same URL every time: parsed once.
  let parsed: { url: string; target: URL } | undefined;
  const targetOf = (url: string) => (parsed?.url === url ? parsed.target : (parsed = { url, target: new URL(url) }).target);

  const metricLabels = { subgraph };
  const fetchOnce = async (url: string, init: FetcherRequestInit, onShared?: () => void): Promise<FetcherResponse> => {
    const key = dedupeKey(url, init);
    let answer: Promise<Answer> | undefined = key === undefined ? undefined : inFlight.get(key);
    if (answer) {
      gatewayMetrics.deduplicated.inc(metricLabels);
      onShared?.();
    } else {
      answer = measured(send(url, init));
      if (key !== undefined) {
        inFlight.set(key, answer);
        const done = () => inFlight.delete(key);
        answer.then(done, done);
      }
    }
    const { status, statusText, headers, body } = await answer;
    return new BufferedResponse(url, status, statusText, new ResponseHeaders(headers), body);
  };

  /** A client span per subgraph request (a child of the operation's), its context sent as `traceparent`. */
  const fetchTraced = async (url: string, init: FetcherRequestInit): Promise<FetcherResponse> => {
    const parent = otelContext.active();
    const span = tracer.startSpan(
      `fetch ${subgraph}`,
      { kind: SpanKind.CLIENT, attributes: { 'mercado.subgraph': subgraph, 'http.request.method': init.method ?? 'GET', 'server.address': targetOf(url).hostname } },
      parent,
    );
    const headers: Record<string, string> = { ...init.headers };
    propagation.inject(trace.setSpan(parent, span), headers);
    try {
      const response = await fetchOnce(url, { ...init, headers }, () => span.setAttribute('mercado.deduplicated', true));
      span.setAttribute('http.response.status_code', response.status);
      if (response.status >= 400) span.setStatus({ code: SpanStatusCode.ERROR });
      return response;
    } catch (error) {
      span.recordException(error as Error);
      span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message });
      throw error;
    } finally {
      span.end();
    }
  };

  return (url, init = {}) => (tracingActive() ? fetchTraced(url, init) : fetchOnce(url, init));

  /** Times a request that is really sent, and counts its failure by reason. */
  function measured(answer: Promise<Answer>): Promise<Answer> {
    const started = performance.now();
    return answer.then(
      (received) => {
        gatewayMetrics.fetchDuration.observe(metricLabels, (performance.now() - started) / 1000);
        if (received.status >= 400) gatewayMetrics.fetchErrors.inc({ subgraph, reason: received.status >= 500 ? 'http_5xx' : 'http_4xx' });
        return received;
      },
      (error: Error & { code?: string }) => {
        gatewayMetrics.fetchDuration.observe(metricLabels, (performance.now() - started) / 1000);
        gatewayMetrics.fetchErrors.inc({ subgraph, reason: error.code === 'ETIMEDOUT' ? 'timeout' : 'unreachable' });
        throw error;
      },
    );
  }

  function send(url: string, init: FetcherRequestInit): Promise<Answer> {
    return new Promise<Answer>((resolve, reject) => {
      const target = targetOf(url);
      const agent = agents[target.protocol as keyof typeof agents];
      if (!agent) return reject(new Error(`subgraph ${subgraph}: unsupported URL protocol ${target.protocol}`));
      const body = init.body === undefined ? undefined : typeof init.body === 'string' ? Buffer.from(init.body) : init.body;
      const headers: Record<string, string> = { ...init.headers };
      if (body) headers['content-length'] = String(body.length);
      let settled = false;
      const fail = (error: Error) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        reject(error);
      };
      const open = target.protocol === 'https:' ? httpsRequest : request;
      const req = open(target, { method: init.method ?? 'GET', headers, agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', (error) => fail(failed(error)));
        res.on('close', () => {
          if (!res.complete) fail(failed(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' })));
        });
        // The body is read here so that the time limit covers the whole answer, not just its headers.
        res.on('end', () => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          resolve({
            status: res.statusCode ?? 0,
            statusText: res.statusMessage ?? '',
            headers: headersOf(res.headers),
            body: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks),
          });
        });
      });
      const timer = setTimeout(() => {
        fail(timedOut());
        req.destroy();
      }, timeoutMs);
      req.on('error', (error) => fail(failed(error)));
      req.end(body);
    });
  }
}

/** Response headers by lower-case name, multiple values joined as fetch joins them. */
function headersOf(headers: IncomingHttpHeaders): Record<string, string> {
  const joined: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) joined[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  }
  return joined;
}

/** A subgraph's answer, already read in full: what RemoteGraphQLDataSource uses of a fetch Response. */
class BufferedResponse implements FetcherResponse {
  readonly redirected = false;
  readonly ok: boolean;
  bodyUsed = false;

  constructor(
    readonly url: string,
    readonly status: number,
    readonly statusText: string,
    readonly headers: ResponseHeaders,
    private readonly body: Buffer,
  ) {
    this.ok = status >= 200 && status < 300;
  }

  private read(): Buffer {
    if (this.bodyUsed) throw new TypeError('Body is unusable: Body has already been read');
    this.bodyUsed = true;
    return this.body;
  }

  async text(): Promise<string> {
    return this.read().toString('utf8');
  }

  async json(): Promise<unknown> {
    return JSON.parse(this.read().toString('utf8'));
  }

  async arrayBuffer(): Promise<ArrayBuffer> {
    const body = this.read();
    return body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength) as ArrayBuffer;
  }

  clone(): FetcherResponse {
    if (this.bodyUsed) throw new TypeError('Response.clone: Body has already been consumed.');
    return new BufferedResponse(this.url, this.status, this.statusText, new ResponseHeaders(Object.fromEntries(this.headers)), this.body);
  }
}

/** Response headers by lower-case name, multiple values joined as fetch joins them. */
class ResponseHeaders implements FetcherHeaders {
  private readonly map = new Map<string, string>();

  constructor(headers: Record<string, string>) {
    for (const [name, value] of Object.entries(headers)) this.map.set(name.toLowerCase(), value);
  }

  get(name: string): string | null {
    return this.map.get(name.toLowerCase()) ?? null;
  }
  has(name: string): boolean {
    return this.map.has(name.toLowerCase());
  }
  set(name: string, value: string): void {
    this.map.set(name.toLowerCase(), value);
  }
  append(name: string, value: string): void {
    const key = name.toLowerCase();
    const existing = this.map.get(key);
    this.map.set(key, existing === undefined ? value : `${existing}, ${value}`);
  }
  delete(name: string): void {
    this.map.delete(name.toLowerCase());
  }
  entries(): IterableIterator<[string, string]> {
    return this.map.entries();
  }
  keys(): IterableIterator<string> {
    return this.map.keys();
  }
  values(): IterableIterator<string> {
    return this.map.values();
  }
  [Symbol.iterator](): IterableIterator<[string, string]> {
    return this.map.entries();
  }
}
