import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HeaderMap, type ApolloServer, type BaseContext } from '@apollo/server';

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
      if (error instanceof HttpError) return sendError(res, error);
      onUnexpectedError?.(error);
      sendError(res, new HttpError(500, 'INTERNAL_SERVER_ERROR', 'Internal server error'));
    }
  };
}

/** Starts listening; resolves with the server and its URL once bound. */
export async function listen(
  handler: (req: IncomingMessage, res: ServerResponse) => Promise<void>,
  port: number,
  host = '127.0.0.1',
): Promise<{ server: Server; url: string; close: () => Promise<void> }> {
  const server = createServer({ keepAliveTimeout: 65_000 }, (req, res) => void handler(req, res));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const { port: bound } = server.address() as AddressInfo;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${bound}`;
  const close = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeIdleConnections();
    });
  return { server, url, close };
}
