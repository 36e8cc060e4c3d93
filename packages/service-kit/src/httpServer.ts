import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HeaderMap, type ApolloServer, type BaseContext } from '@apollo/server';
import { contextFromHeaders, SpanKind, SpanStatusCode, tracer, tracingActive, workContext } from '@mercado/telemetry';
import { context as otelContext, trace } from '@opentelemetry/api';

/** A request that must be refused before GraphQL runs (bad auth, too large, ...). */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export type RouteHandler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

export interface ServeOptions<TContext extends BaseContext> {
  apollo: ApolloServer<TContext>;
  /** Builds the per-request context; throw HttpError to refuse the request. */
  context: (req: IncomingMessage) => Promise<TContext>;
  port: number;
  host?: string;
  /** Extra routes by "METHOD /path", e.g. "GET /health". */
  routes?: Record<string, RouteHandler>;
  maxBodyBytes?: number;
  /** Inspects a GraphQL request once its body is read, before Apollo sees it; throw HttpError to refuse it. */
  beforeGraphQL?: (request: { method: string; search: string; body: unknown }) => void | Promise<void>;
  graphqlPath?: string;
  onUnexpectedError?: (error: unknown) => void;
  /** Told of every request refused with an HttpError (bad credentials, rate limit, body too large...): a metric's place. */
  onRefused?: (error: HttpError) => void;
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

function sendError(res: ServerResponse, error: HttpError) {
  sendJson(res, error.status, { errors: [{ message: error.message, extensions: { code: error.code } }] }, error.headers);
}

async function readBody(req: IncomingMessage, limit: number): Promise<string> {
  // The rest of the body is never read, so the connection cannot carry another request: close it.
  const tooLarge = () => new HttpError(413, 'PAYLOAD_TOO_LARGE', `Request body exceeds ${limit} bytes`, { connection: 'close' });
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limit) throw tooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw tooLarge();
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function parseJsonBody(text: string, contentType: string | undefined): unknown {
  if (!text) return undefined;
  if (contentType && !contentType.includes('json')) return text;
  try {
    return JSON.parse(text);
  } catch {
    throw new HttpError(400, 'BAD_REQUEST', 'Request body is not valid JSON');
  }
}

/**
 * A small node:http integration for Apollo Server (the documented executeHTTPGraphQLRequest
 * contract), so services add plain routes such as /health beside /graphql without a web
 * framework on the hot path.
 */
export function createHttpHandler<TContext extends BaseContext>(opts: Omit<ServeOptions<TContext>, 'port' | 'host'>) {
  const graphqlPath = opts.graphqlPath ?? '/graphql';
  const maxBody = opts.maxBodyBytes ?? 1_000_000;
  const routes = opts.routes ?? {};
  const onUnexpectedError = opts.onUnexpectedError;

  return async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    try {
      const route = routes[`${req.method} ${url.pathname}`];
      if (route) return await route(req, res);
      if (url.pathname !== graphqlPath) throw new HttpError(404, 'NOT_FOUND', `No route for ${req.method} ${url.pathname}`);

      const headers = new HeaderMap();
      for (const [name, value] of Object.entries(req.headers)) {
        if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : value);
      }
      // Context first: a request refused here (bad credentials) never reaches GraphQL.
      const context = await opts.context(req);
      const body = req.method === 'POST' ? parseJsonBody(await readBody(req, maxBody), req.headers['content-type']) : undefined;
      await opts.beforeGraphQL?.({ method: req.method ?? 'GET', search: url.search, body });
      const response = await opts.apollo.executeHTTPGraphQLRequest({
        httpGraphQLRequest: { method: req.method ?? 'GET', headers, search: url.search, body },
        context: async () => context,
      });
      for (const [name, value] of response.headers) res.setHeader(name, value);
      res.statusCode = response.status ?? 200;
      if (response.body.kind === 'complete') {
        res.end(response.body.string);
      } else {
        for await (const chunk of response.body.asyncIterator) res.write(chunk);
        res.end();
      }
    } catch (error) {
      if (res.headersSent) return void res.destroy();
      if (error instanceof HttpError) {
        opts.onRefused?.(error);
        return sendError(res, error);
      }
      onUnexpectedError?.(error);
      sendError(res, new HttpError(500, 'INTERNAL_SERVER_ERROR', 'Internal server error'));
    }
  };
}

export interface ListenOptions {
  /**
   * The whole request (headers and body) must have arrived within this long, or the connection
   * is closed (408): a client that trickles a body one byte every few seconds holds a socket for
   * seconds, not for Node's default of five minutes. Default 15 s.
   */
  requestTimeoutMs?: number;
  /** The request headers must have arrived within this long. Default 10 s. */
  headersTimeoutMs?: number;
}

export interface ListeningServer {
  server: Server;
  url: string;
  /**
   * Stops accepting connections, lets the requests in flight finish (their responses tell the
   * client to close the connection, so keep-alive clients reconnect elsewhere), closes idle
   * connections as they become idle, and after `graceMs` closes whatever is left. Resolves once
   * every connection is closed.
   */
  close(graceMs?: number): Promise<void>;
  /** Requests being served now. */
  inFlight(): number;
}

/** Probes and scrapes are not worth a trace each. */
const untracedPaths = new Set(['/health', '/ready', '/metrics']);

/**
 * A server span per request (OpenTelemetry's HTTP conventions), continuing the caller's trace
 * when it sent a valid `traceparent` (a malformed one starts a new trace), around the handler.
 */
function serveTraced(handler: (req: IncomingMessage, res: ServerResponse) => Promise<void>, req: IncomingMessage, res: ServerResponse): void {
  const path = (req.url ?? '/').split('?')[0]!;
  if (untracedPaths.has(path)) return void handler(req, res);
  const parent = contextFromHeaders(req.headers);
  const span = tracer.startSpan(
    `${req.method} ${path}`,
    { kind: SpanKind.SERVER, attributes: { 'http.request.method': req.method ?? 'GET', 'url.path': path } },
    parent,
  );
  res.once('close', () => {
    span.setAttribute('http.response.status_code', res.statusCode);
    if (res.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
    span.end();
  });
  otelContext.with(trace.setSpan(parent, span), () => void handler(req, res));
}

/** Starts listening; resolves with the server and its URL once bound. */
export async function listen(
  handler: (req: IncomingMessage, res: ServerResponse) => Promise<void>,
  port: number,
  host = '127.0.0.1',
  options: ListenOptions = {},
): Promise<ListeningServer> {
  let closing = false;
  let inFlight = 0;
  const requestTimeout = options.requestTimeoutMs ?? 15_000;
  const server = createServer(
    {
      keepAliveTimeout: 65_000,
      requestTimeout,
      headersTimeout: Math.min(options.headersTimeoutMs ?? 10_000, requestTimeout),
      // How often Node looks for requests past those timeouts (30 s by default, which would let a
      // slow client keep its socket up to 30 s longer than the timeout says).
      connectionsCheckingInterval: 1_000,
    },
    (req, res) => {
      inFlight++;
      res.once('close', () => inFlight--);
      // Draining: this response ends its connection, so the client opens its next one elsewhere.
      if (closing) res.setHeader('connection', 'close');
      // Each request runs with a work context of its own: the request id, once known, goes on every log line.
      workContext.run({}, () => (tracingActive() ? serveTraced(handler, req, res) : void handler(req, res)));
    },
  );
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const { port: bound } = server.address() as AddressInfo;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${bound}`;
  let closed: Promise<void> | undefined;
  const close = (graceMs = 10_000) =>
    (closed ??= new Promise<void>((resolve) => {
      closing = true;
      server.close(() => resolve());
      // A kept-alive connection that finished its response before `closing` was set would stay
      // open until its keep-alive timeout: close connections as soon as they are idle.
      server.closeIdleConnections();
      const sweep = setInterval(() => server.closeIdleConnections(), 100);
      const force = setTimeout(() => server.closeAllConnections(), graceMs);
      server.once('close', () => {
        clearInterval(sweep);
        clearTimeout(force);
      });
    }));
  return { server, url, close, inFlight: () => inFlight };
}
