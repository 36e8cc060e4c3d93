import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { ApolloServer } from '@apollo/server';
import type { DocumentNode, FormattedExecutionResult, GraphQLFormattedError, GraphQLSchema } from 'graphql';
import { createHandler as createSseHandler } from 'graphql-sse';
import { useServer } from 'graphql-ws/use/ws';
import { decodeJwt } from 'jose';
import { WebSocketServer, type WebSocket } from 'ws';
import { HttpError, type Logger, type Viewer } from '@mercado/service-kit';
import type { LiveEvents } from '@mercado/event-bus';
import { graphql } from '../executor/apolloInternals.ts';
import type { GatewayContext } from '../gateway.ts';
import { operationLimits, type OperationLimits } from '../limits.ts';
import { trustedDocumentsGuard, type TrustedDocuments } from '../trustedDocuments.ts';
import { defaultSubscriptionLimits } from './defaults.ts';
import { toLiveQuery } from './liveFields.ts';
import { LiveStream, type LiveResult } from './liveStream.ts';

// graphql-js as the gateway (and graphql-ws) load it: its schema and errors are of this copy.
const { getOperationAST, GraphQLError, OperationTypeNode, parse, specifiedRules, validate } = graphql;

export interface SubscriptionOptions {
  /** The broker the integration events are on, and the prefix of its exchange (`<prefix>.events`). */
  amqpUrl: string;
  eventsPrefix: string;
  /** Subscriptions one WebSocket connection may hold at once; default 25. */
  maxPerConnection?: number;
  /** Subscriptions one user (anonymous: one client address) may hold at once on one gateway process; default 100. */
  maxPerUser?: number;
  /**
   * How often a WebSocket is pinged; one that has not answered by the next ping (a client gone,
   * or one that stopped reading) is cut off. Default 12 s (graphql-ws's).
   */
  keepAliveMs?: number;
}


/** Past this many bytes waiting to be written to a WebSocket, its client is not reading: it is disconnected. */
const MAX_BUFFERED_BYTES = 1024 * 1024;
/** setTimeout's largest delay; a token living longer is checked again then. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export interface LiveGraphOptions {
  subscriptions: SubscriptionOptions;
  apollo: ApolloServer<GatewayContext>;
  /** The API schema clients see (the supergraph's, without federation's internals); undefined until loaded. */
  apiSchema: () => GraphQLSchema | undefined;
  authenticate: (authorization: string | undefined) => Promise<Viewer | null>;
  /** The gateway's rate limiter: one point per subscription (throws HttpError 429). */
  rateLimit?: (key: string) => Promise<void>;
  /** A request context for one run of a subscription's query. */
  contextFor: (viewer: Viewer | null) => GatewayContext;
  /** Whether a browser page of this origin may open a WebSocket (as for HTTP requests). */
  originAllowed: (origin: string, host: string | undefined) => boolean;
  limits: OperationLimits;
  production: boolean;
  trustedDocuments?: TrustedDocuments;
  maxBodyBytes: number;
  liveEvents: LiveEvents;
  logger: Logger;
}

/** Who is subscribing: their identity, when their token expires, and what they hold. */
interface Subscriber {
  viewer: Viewer | null;
  /** Epoch ms; undefined when anonymous. */
  expiresAt?: number;
  address: string;
  /** Subscriptions open on this connection. */
  open: number;
}

/** The parameters of one GraphQL operation, as graphql-ws and graphql-sse hand them over. */
interface OperationParams {
  query?: string;
  operationName?: string | null;
  variables?: Record<string, unknown> | null;
  extensions?: Record<string, unknown> | null;
}

type Prepared =
  | { refused: GraphQLFormattedError[]; status: number }
  | { document: DocumentNode; operationName?: string; result: LiveStream | LiveResult };

export interface LiveGraph {
  /** Serves GraphQL over WebSocket (graphql-ws) on the server's `/graphql` upgrades. */
  attach(server: Server): void;
  /** A GraphQL over SSE request (Accept: text/event-stream on /graphql). */
  handlesSse(req: IncomingMessage): boolean;
  handleSse(req: IncomingMessage, res: ServerResponse): Promise<void>;
  /** Subscriptions open in this process. */
  readonly size: number;
  /** Ends every subscription (clients are told to subscribe again) and closes every WebSocket. */
  close(): Promise<void>;
}

const error = (code: string, message: string): GraphQLFormattedError => ({ message, extensions: { code } });

/**
 * Subscriptions at the gateway, fed by the integration events: a subscription is validated
 * against the API schema like any operation, turned into the query that reads the same object
 * (`orderUpdated(id)` → `order(id)`, see liveFields.ts), and that query runs through Apollo's
 * whole pipeline with the subscriber's identity (limits, the query planner, the gateway's
 * executor, every subgraph the selection needs): once at subscribe for the first message, and
 * again after each event about the followed aggregate that this process's LiveEvents queue hears.
 */
export function createLiveGraph(opts: LiveGraphOptions): LiveGraph {
  const maxPerConnection = opts.subscriptions.maxPerConnection ?? defaultSubscriptionLimits.maxPerConnection;
  const maxPerUser = opts.subscriptions.maxPerUser ?? defaultSubscriptionLimits.maxPerUser;
  const { validationRules } = operationLimits(opts.limits);
  const rules = [...specifiedRules, ...validationRules];
  // Production runs trusted documents only; elsewhere a hash may still name one of them.
  const guard = opts.production && opts.trustedDocuments ? trustedDocumentsGuard(opts.trustedDocuments) : undefined;
  const perUser = new Map<string, number>();
  /** Runs in flight for one event, by query, variables and identity: shared by every subscriber asking the same. */
  const sharedRuns = new Map<string, Promise<LiveResult>>();
  const streams = new Set<LiveStream>();

  const userKey = (s: Subscriber) => (s.viewer ? `user:${s.viewer.id}` : s.address);

  async function runQuery(query: string, params: OperationParams, viewer: Viewer | null): Promise<LiveResult> {
    const response = await opts.apollo.executeOperation(
      { query, variables: params.variables ?? undefined, operationName: params.operationName ?? undefined },
      { contextValue: opts.contextFor(viewer) },
    );
    if (response.body.kind !== 'single') return { errors: [error('INTERNAL_SERVER_ERROR', 'Incremental results are not served here')] };
    return response.body.singleResult as LiveResult;
  }

  async function prepare(params: OperationParams, who: Subscriber): Promise<Prepared> {
    if (who.expiresAt !== undefined && who.expiresAt <= Date.now()) {
      return { refused: [error('UNAUTHENTICATED', 'The token has expired; sign in again')], status: 401 };
    }
    try {
      await opts.rateLimit?.(userKey(who));
      // An empty query beside a hash (graphql-ws requires the field) names the document by its hash.
      guard?.({ method: 'POST', search: '', body: { ...params, query: params.query || undefined } });
    } catch (e) {
      if (e instanceof HttpError) return { refused: [error(e.code, e.message)], status: e.status };
      throw e;
    }
    const hash = (params.extensions?.persistedQuery as { sha256Hash?: unknown } | undefined)?.sha256Hash;
    const text = params.query || (typeof hash === 'string' ? opts.trustedDocuments?.get(hash) : undefined);
    if (typeof text !== 'string') {
      return { refused: [error(hash ? 'PERSISTED_QUERY_NOT_FOUND' : 'BAD_REQUEST', hash ? 'No trusted document has this hash' : 'The operation has no query')], status: 400 };
    }
    const schema = opts.apiSchema();
    if (!schema) return { refused: [error('SERVICE_UNAVAILABLE', 'The gateway is starting')], status: 503 };
    let document: DocumentNode;
    try {
      document = parse(text, { maxTokens: opts.limits.maxTokens });
    } catch (e) {
      return { refused: [error('GRAPHQL_PARSE_FAILED', (e as Error).message)], status: 400 };
    }
    const invalid = validate(schema, document, rules);
    if (invalid.length > 0) {
      return { refused: invalid.map((e) => ({ message: e.message, extensions: { code: 'GRAPHQL_VALIDATION_FAILED', ...e.extensions } })), status: 400 };
    }
    const operationName = params.operationName ?? undefined;
    const operation = getOperationAST(document, operationName);
    if (!operation) return { refused: [error('BAD_REQUEST', 'The document does not name one operation to run')], status: 400 };
    if (operation.operation !== OperationTypeNode.SUBSCRIPTION) {
      // Queries and mutations over the same connection run once, exactly as over HTTP.
      return { document, operationName, result: await runQuery(text, params, who.viewer) };
    }

    let live;
    try {
      live = toLiveQuery(document, operation, params.variables ?? {});
    } catch (e) {
      if (e instanceof GraphQLError) return { refused: [e.toJSON()], status: 400 };
      throw e;
    }
    if (who.open >= maxPerConnection) {
      return { refused: [error('TOO_MANY_SUBSCRIPTIONS', `A connection may hold ${maxPerConnection} subscriptions at once`)], status: 429 };
    }
    const key = userKey(who);
    if ((perUser.get(key) ?? 0) >= maxPerUser) {
      return { refused: [error('TOO_MANY_SUBSCRIPTIONS', `One user may hold ${maxPerUser} subscriptions at once`)], status: 429 };
    }
    who.open++;
    perUser.set(key, (perUser.get(key) ?? 0) + 1);
    const release = () => {
      who.open--;
      const n = (perUser.get(key) ?? 1) - 1;
      if (n > 0) perUser.set(key, n);
      else perUser.delete(key);
    };

    // Listening before the first read: an event that commits meanwhile triggers a read after it.
    let stream: LiveStream | undefined;
    let missed = false;
    const stop = opts.liveEvents.subscribe(live.events, live.aggregateId, {
      event: (event) => (stream ? stream.event({ key: `${event.source}.${event.type}`, version: event.version, id: event.id }) : (missed = true)),
      resync: () => (stream ? stream.refresh() : (missed = true)),
    });
    let first: LiveResult;
    try {
      // The routing keys bound at the broker before the first read: nothing that commits after
      // the read can go by unheard.
      await opts.liveEvents.bound(live.events);
      first = await runQuery(live.query, params, who.viewer);
    } catch (e) {
      stop();
      release();
      throw e;
    }
    // Every subscriber told of one event re-reads in that event's dispatch, after it arrived: those
    // asking the same query as the same identity share one run (1,000 followers of a product, one read).
    const sharing = `${who.viewer ? `${who.viewer.id}:${who.viewer.role}` : 'anonymous'}\u0000${params.operationName ?? ''}\u0000${JSON.stringify(params.variables ?? {})}\u0000${live.query}`;
    const rerun = (trigger?: string): Promise<LiveResult> => {
      if (trigger === undefined) return runQuery(live.query, params, who.viewer);
      const key = `${trigger}\u0000${sharing}`;
      let run = sharedRuns.get(key);
      if (!run) {
        run = runQuery(live.query, params, who.viewer);
        sharedRuns.set(key, run);
        const forget = () => sharedRuns.delete(key);
        run.then(forget, forget);
      }
      return run;
    };
    stream = new LiveStream(rerun, live.responseKey, first);
    streams.add(stream);
    let expiry: NodeJS.Timeout | undefined;
    const s = stream;
    const armExpiry = () => {
      if (who.expiresAt === undefined) return;
      const ms = who.expiresAt - Date.now();
      expiry = setTimeout(() => (ms > MAX_TIMER_MS ? armExpiry() : s.end([error('UNAUTHENTICATED', 'The token has expired; sign in again')])), Math.min(Math.max(ms, 0), MAX_TIMER_MS));
      expiry.unref();
    };
    armExpiry();
    stream.onEnd(() => {
      stop();
      clearTimeout(expiry);
      release();
      streams.delete(s);
    });
    if (missed) stream.refresh();
    return { document, operationName, result: stream };
  }

  /** The token's expiry, once `authenticate` accepted it. */
  function expiryOf(authorization: string | undefined): number | undefined {
    const token = authorization?.trim().split(/\s+/)[1];
    if (!token) return undefined;
    const exp = decodeJwt(token).exp;
    return exp === undefined ? undefined : exp * 1000;
  }

  async function identify(authorization: string | undefined, address: string): Promise<Subscriber> {
    try {
      const viewer = await opts.authenticate(authorization);
      return { viewer, expiresAt: viewer ? expiryOf(authorization) : undefined, address, open: 0 };
    } catch (e) {
      // A refused token counts against the address, as over HTTP: guessing tokens is rate limited too.
      await opts.rateLimit?.(address).catch(() => {});
      throw e;
    }
  }

  // --- GraphQL over WebSocket (graphql-transport-ws) ---
  const wss = new WebSocketServer({ noServer: true, maxPayload: opts.maxBodyBytes });
  const subscribers = new WeakMap<WebSocket, Subscriber>();
  useServer<Record<string, unknown> | undefined, { socket: WebSocket; request: IncomingMessage }>(
    {
      connectionInitWaitTimeout: 10_000,
      onConnect: async (ctx) => {
        // Either spelling: clients that forward their headers as connection params keep the header's case.
        const authorization = ctx.connectionParams?.authorization ?? ctx.connectionParams?.Authorization;
        if (authorization !== undefined && typeof authorization !== 'string') return false;
        try {
          subscribers.set(ctx.extra.socket, await identify(authorization, `ip:${ctx.extra.request.socket.remoteAddress ?? 'unknown'}`));
          return true;
        } catch (e) {
          if (e instanceof HttpError) return false;
          throw e;
        }
      },
      onSubscribe: async (ctx, _id, payload) => {
        const who = subscribers.get(ctx.extra.socket);
        if (!who) return [new GraphQLError('Not connected', { extensions: { code: 'UNAUTHENTICATED' } })];
        const prepared = await prepare(payload, who);
        if ('refused' in prepared) return prepared.refused.map((e) => new GraphQLError(e.message, { extensions: e.extensions }));
        return { schema: opts.apiSchema()!, document: prepared.document, operationName: prepared.operationName, contextValue: { result: prepared.result } };
      },
      execute: (args) => (args.contextValue as { result: LiveResult }).result as never,
      subscribe: (args) => (args.contextValue as { result: LiveStream | LiveResult }).result as never,
      onNext: (ctx, _id, _payload, _args, result) => {
        if (ctx.extra.socket.bufferedAmount > MAX_BUFFERED_BYTES) ctx.extra.socket.close(1008, 'The client does not read its messages');
        // Results come formatted from Apollo's pipeline (plain errors, masked): sent as they are.
        return result as FormattedExecutionResult;
      },
    },
    wss,
    opts.subscriptions.keepAliveMs ?? 12_000,
  );

  // --- GraphQL over SSE (graphql-sse, distinct connections mode) ---
  const sse = createSseHandler<IncomingMessage, { who?: Subscriber }>({
    // No reservations: every event stream carries its own operation (distinct connections mode).
    authenticate: () => null,
    onSubscribe: async (req, params) => {
      const raw = req.raw;
      let who: Subscriber;
      try {
        who = await identify(raw.headers.authorization, `ip:${raw.socket.remoteAddress ?? 'unknown'}`);
      } catch (e) {
        if (!(e instanceof HttpError)) throw e;
        return [JSON.stringify({ errors: [error(e.code, e.message)] }), { status: e.status, statusText: e.code, headers: { 'content-type': 'application/json; charset=utf-8', ...e.headers } }];
      }
      const prepared = await prepare(params, who);
      if ('refused' in prepared) {
        return [JSON.stringify({ errors: prepared.refused }), { status: prepared.status, statusText: 'Refused', headers: { 'content-type': 'application/json; charset=utf-8' } }];
      }
      return prepared.result as never;
    },
  });

  async function readBody(req: IncomingMessage): Promise<string> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > opts.maxBodyBytes) throw new HttpError(413, 'PAYLOAD_TOO_LARGE', `Request body exceeds ${opts.maxBodyBytes} bytes`);
      chunks.push(chunk);
    }
    return Buffer.concat(chunks).toString('utf8');
  }

  async function serveSse(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let body: string | null = null;
    try {
      if (req.method === 'POST') body = await readBody(req);
    } catch (e) {
      if (!(e instanceof HttpError)) throw e;
      res.writeHead(e.status, { 'content-type': 'application/json; charset=utf-8', connection: 'close' });
      return void res.end(JSON.stringify({ errors: [error(e.code, e.message)] }));
    }
    const [responseBody, init] = await sse({
      method: req.method ?? 'GET',
      url: req.url ?? '/',
      headers: { get: (key) => (key === 'accept' ? 'text/event-stream' : [req.headers[key]].flat().join('\n') || null) },
      body,
      raw: req,
      context: {},
    });
    res.writeHead(init.status, init.statusText, init.headers);
    if (!responseBody || typeof responseBody === 'string') return void res.end(responseBody);
    const stop = () => void responseBody.return(undefined);
    res.once('close', stop);
    for await (const chunk of responseBody) {
      if (!res.writable) break;
      // Waits until the chunk is handed to the socket: a client that stops reading holds one result.
      await new Promise<void>((resolve) => res.write(chunk, () => resolve()));
    }
    res.off('close', stop);
    res.end();
  }

  let closing = false;
  return {
    attach(server) {
      server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
        const refuse = (status: string) => socket.end(`HTTP/1.1 ${status}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
        if ((req.url ?? '/').split('?')[0] !== '/graphql') return refuse('404 Not Found');
        if (closing) return refuse('503 Service Unavailable');
        // A browser always sends Origin on an upgrade; the check covers its Host too (DNS rebinding).
        const origin = req.headers.origin;
        if (origin !== undefined && !opts.originAllowed(origin, req.headers.host)) return refuse('403 Forbidden');
        wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
      });
    },
    handlesSse(req) {
      return /text\/event-stream/.test(req.headers.accept ?? '') && (req.url ?? '/').split('?')[0] === '/graphql';
    },
    async handleSse(req, res) {
      try {
        await serveSse(req, res);
      } catch (e) {
        opts.logger.error({ err: e }, 'subscription over SSE failed');
        if (res.headersSent) return void res.destroy();
        res.writeHead(500, { 'content-type': 'application/json; charset=utf-8' });
        res.end(JSON.stringify({ errors: [error('INTERNAL_SERVER_ERROR', 'Internal server error')] }));
      }
    },
    get size() {
      return streams.size;
    },
    async close() {
      closing = true;
      for (const stream of [...streams]) stream.end([error('SERVICE_UNAVAILABLE', 'The gateway is restarting; subscribe again')]);
      // Let the streams hand their last message over, then close the sockets.
      await new Promise((resolve) => setTimeout(resolve, 50));
      for (const ws of wss.clients) ws.close(1001, 'The gateway is restarting');
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}
