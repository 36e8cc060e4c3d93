import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { ApolloServerPluginLandingPageLocalDefault } from '@apollo/server/plugin/landingPage/default';
import { ApolloGateway, type RemoteGraphQLDataSource } from '@apollo/gateway';
import {
  createHttpHandler,
  INTERNAL_CONTEXT_HEADER,
  INTERNAL_IDENTITY,
  listen,
  maskUnexpectedErrors,
  sendJson,
  type Logger,
  type Readiness,
  type RunningService,
  type Viewer,
} from '@mercado/service-kit';
import { workContext } from '@mercado/telemetry';
import { createAuthenticator, type AuthenticationOptions } from './authentication.ts';
import { createSessionRevocationCheck, type SessionRevocationOptions } from './sessionRevocation.ts';
import { defaultDemandControl, useDemandControl } from './demandControl.ts';
import { createOriginCheck, developmentCorsOrigins, useHttpSecurity } from './httpSecurity.ts';
import { developmentPublicHosts, hostMatcher, useHostCheck } from './hostCheck.ts';
import { clientAddressResolver } from './clientAddress.ts';
import { useQueryPlanHeaders, useRequestHygiene } from './requestHygiene.ts';
import { startSubscriptions, useLiveGraph, type LiveGraph, type SubscriptionOptions } from './subscriptions/index.ts';
import { withDeferDirective } from './defer/deferDirective.ts';
import { useIncrementalDelivery } from './defer/incremental.ts';
import { defaultOperationLimits, defaultRequestLimits, useOperationLimits, type OperationLimits } from './limits.ts';
import { apolloOptionsOf, composeGatewayPlugins, type GatewayPlugin } from './plugin.ts';
import { assertProductionSecret } from '@mercado/service-kit';
import { withFastExecutor } from './executor/fastExecutor.ts';
import { useQueueDashboard, type QueueDashboardOptions } from './queueDashboard.ts';
import { connectDoorRedis } from './doorRedis.ts';
import { createRateLimiter, type RateLimitOptions } from './rateLimit.ts';
import { internalTokenSigner, sharedInternalTokens } from './internalToken.ts';
import { pinSupergraphNames } from './oneByteNames.ts';
import { gatewayReadiness, subgraphReady } from './readiness.ts';
import { countRefusal, useObservability, type OperationTrace } from './observability.ts';
import { SubgraphDataSource } from './subgraphDataSource.ts';
import { subgraphFetcher } from './subgraphFetcher.ts';
import { trustedDocumentsStore, useTrustedDocuments, type TrustedDocuments } from './trustedDocuments.ts';

/** Carries the client request's id to the subgraphs when identity tokens are shared. */
const REQUEST_ID_HEADER = 'x-request-id';

export interface GatewayContext extends OperationTrace {
  viewer: Viewer | null;
  requestId: string;
  /** The client's address, forwarded with mutations (sign-in throttling in accounts). */
  clientAddress: string;
  /** The identity token for every subgraph fetch of the request: signed for it, or shared by its identity (dedupeSubgraphFetches). */
  internalToken: Promise<string>;
}

export interface GatewayOptions {
  supergraphSdl: string;
  /** Subgraph URL by name, overriding the URL written in the supergraph. */
  subgraphUrls?: Record<string, string>;
  auth: AuthenticationOptions;
  internalTokenSecret: string;
  /**
   * Production: no introspection, no Sandbox, no field suggestions in errors, HSTS, and only
   * `trustedDocuments` run. Development: automatic persisted queries, Sandbox, local CORS origins.
   */
  production: boolean;
  /** The operations production accepts (gateway/trusted-documents.json); required in production. */
  trustedDocuments?: TrustedDocuments;
  /** Per-operation limits; each one missing takes its value from `defaultOperationLimits`. */
  limits?: Partial<OperationLimits>;
  /** Demand control: size of a list without @listSize (default 10); `report` adds `extensions.cost` to responses. */
  demandControl?: { defaultListSize?: number; report?: boolean };
  /** Largest request body accepted (413 above it); default 100 KB. */
  maxBodyBytes?: number;
  /** How long one subgraph fetch may take before its fields fail with SERVICE_UNAVAILABLE; default 10 s. */
  subgraphTimeoutMs?: number;
  /**
   * `fast` (default): plans run on the gateway's compiled executor (src/executor), with Apollo's
   * own executor for whatever that one does not take on; `apollo`: everything on Apollo's.
   */
  executor?: 'fast' | 'apollo';
  /**
   * Share one subgraph request between identical queries in flight for the same identity
   * (default true): identity tokens are then signed once per user for 30 s of their 60 s and the
   * request id travels in `x-request-id` instead of inside the token. Mutations are never shared.
   */
  dedupeSubgraphFetches?: boolean;
  /** How long /ready waits for each subgraph's /ready; default 2 s. */
  readinessTimeoutMs?: number;
  /** Browser origins allowed to call the gateway; default: `developmentCorsOrigins`, none in production. */
  corsOrigins?: readonly string[];
  /** Host names the gateway answers to (DNS rebinding); default: `developmentPublicHosts`, in production none checked. */
  publicHosts?: readonly string[];
  /** Load balancers whose X-Forwarded-For is believed (addresses or CIDR ranges); default none. */
  trustedProxies?: readonly string[];
  /** Whether the Apollo-Query-Plan-Experimental header returns query plans; default false. */
  exposeQueryPlans?: boolean;
  /** Where accounts records sign-outs and password changes; omitted: tokens are valid until they expire. */
  sessionRevocation?: SessionRevocationOptions;
  /** Requests per user (or anonymous client address) per window, counted in Redis; omitted: no limit. */
  rateLimit?: RateLimitOptions;
  /** The saga queues' dashboard at /admin/queues, for admins; omitted: no /admin routes at all. */
  queueDashboard?: QueueDashboardOptions;
  /** Subscriptions over WebSocket and SSE on /graphql, fed by the integration events; omitted: none. */
  subscriptions?: SubscriptionOptions;
  logger: Logger;
  port: number;
  host?: string;
}

export interface RunningGateway extends RunningService {
  /** What /ready answers (also on the management port); marked draining when shutdown begins. */
  readiness: Readiness;
}

/** Starts the gateway: verifies the caller, plans over the supergraph, signs subgraph calls. */
export async function startGateway(opts: GatewayOptions): Promise<RunningGateway> {
  assertProductionSecret(opts.production, opts.internalTokenSecret);
  if (opts.production && !opts.trustedDocuments) throw new Error('a production gateway needs its trusted documents');
  const limits = { ...defaultOperationLimits, ...opts.limits };
  const subgraphTimeoutMs = opts.subgraphTimeoutMs ?? defaultRequestLimits.subgraphTimeoutMs;
  const dedupe = opts.dedupeSubgraphFetches ?? true;

  // Before Apollo reads the supergraph: responses then serialize as one-byte strings.
  pinSupergraphNames(opts.supergraphSdl);

  // Filled in as the supergraph is loaded: what /ready checks, and what the executor fetches with.
  const readiness = gatewayReadiness(opts.readinessTimeoutMs ?? defaultRequestLimits.readinessTimeoutMs);
  const dataSources = new Map<string, RemoteGraphQLDataSource<GatewayContext>>();
  // @apollo/gateway reports its own usage to Apollo (OTLP metrics to usage-reporting.api.
  // apollographql.com, after probing the AWS, GCP and Azure metadata endpoints for the cloud it
  // runs in) unless this variable says not to, and it reads it here, in its constructor. The
  // system's only door sends nothing to a third party unless its operator asks: `false` does.
  process.env.APOLLO_TELEMETRY_DISABLED ??= 'true';
  const gateway = new ApolloGateway({
    supergraphSdl: opts.supergraphSdl,
    logger: opts.logger,
    // Apollo's default shows query plans to anyone sending the header outside production.
    __exposeQueryPlanExperimental: opts.exposeQueryPlans === true,
    buildService: ({ name, url }) => {
      const subgraphUrl = opts.subgraphUrls?.[name] ?? url!;
      readiness.add(name, subgraphReady(subgraphUrl));
      const dataSource = new SubgraphDataSource<GatewayContext>({
        url: subgraphUrl,
        fetcher: subgraphFetcher(name, subgraphTimeoutMs, dedupe ? { dedupe: { ignoreHeader: REQUEST_ID_HEADER } } : {}),
        willSendRequest: async ({ request, context }) => {
          // Introspection by the gateway itself at start-up has no client context.
          if (!context.internalToken) return;
          request.http?.headers.set(INTERNAL_CONTEXT_HEADER, await context.internalToken);
          if (dedupe) request.http?.headers.set(REQUEST_ID_HEADER, context.requestId);
          // Mutations only (never shared): sign-in throttling counts by client address.
          if (/^\s*mutation\b/.test(request.query ?? '')) request.http?.headers.set(INTERNAL_IDENTITY.clientAddressHeader, context.clientAddress);
        },
      });
      dataSources.set(name, dataSource);
      return dataSource;
    },
  });

  // What subscriptions are validated against (the schema clients see), and what @defer is planned over.
  let apiSchema: import('graphql').GraphQLSchema | undefined;
  let supergraph: { apiSchema: import('graphql').GraphQLSchema; coreSupergraphSdl: string } | undefined;
  gateway.onSchemaLoadOrUpdate((schema) => {
    apiSchema = schema.apiSchema;
    supergraph = schema;
  });

  // The concerns of each operation (gateway plugins: src/plugin.ts), in the order they act.
  const operationPlugins: Array<GatewayPlugin<GatewayContext>> = [
    useObservability<GatewayContext>(opts.logger),
    useRequestHygiene(),
    useOperationLimits(limits),
    useDemandControl(opts.supergraphSdl, { maxCost: limits.maxCost, ...defaultDemandControl, ...opts.demandControl }),
  ];
  const operations = apolloOptionsOf(operationPlugins);

  const apollo = new ApolloServer<GatewayContext>({
    gateway: withDeferDirective(
      opts.executor === 'apollo'
        ? gateway
        : withFastExecutor(gateway, { dataSource: (name) => dataSources.get(name), logger: opts.logger }),
    ),
    introspection: !opts.production,
    includeStacktraceInErrorResponses: false,
    formatError: maskUnexpectedErrors(opts.logger),
    logger: opts.logger,
    // The process's lifecycle stops the gateway in order; Apollo's own handler would stop it at
    // the first signal and then raise the signal again.
    stopOnTerminationSignals: false,
    validationRules: operations.validationRules,
    parseOptions: operations.parseOptions,
    // "Did you mean ...?" would spell out the schema that production keeps to itself.
    hideSchemaDetailsFromClientErrors: opts.production,
    // One HTTP request, one operation: a batch would multiply the work behind one rate-limit point.
    allowBatchedHttpRequests: false,
    // Development: Apollo's automatic persisted queries (any client may register a document).
    // Production: hashes are looked up in the trusted documents and nothing can be registered.
    persistedQueries: opts.production ? trustedDocumentsStore(opts.trustedDocuments!) : {},
    plugins: [
      ...operations.plugins,
      opts.production
        ? ApolloServerPluginLandingPageDisabled()
        : ApolloServerPluginLandingPageLocalDefault({ embed: true, includeCookies: false }),
    ],
  });
  await apollo.start();
  readiness.markStarted();

  // One connection for both checks at the door when they use the same Redis: a signed-in
  // request's rate-limit count and revocation read then reach Redis in one write (doorRedis.ts).
  const doorRedisUrl = opts.rateLimit?.redisUrl ?? opts.sessionRevocation?.redisUrl;
  const doorRedis = doorRedisUrl ? await connectDoorRedis(doorRedisUrl) : undefined;
  const sharedBy = (url: string) => (url === doorRedisUrl ? doorRedis : undefined);
  const rateLimiter = opts.rateLimit ? await createRateLimiter(opts.rateLimit, opts.logger, sharedBy(opts.rateLimit.redisUrl)) : undefined;
  const revocation = opts.sessionRevocation ? await createSessionRevocationCheck(opts.sessionRevocation, opts.logger, sharedBy(opts.sessionRevocation.redisUrl)) : undefined;
  const authenticate = createAuthenticator({ ...opts.auth, ...(revocation ? { isRevoked: revocation.isRevoked } : {}) });
  const signInternalToken = internalTokenSigner(opts.internalTokenSecret);
  const sharedInternalToken = sharedInternalTokens(opts.internalTokenSecret);
  const clientAddressOf = clientAddressResolver(opts.trustedProxies ?? []);
  const handler = createHttpHandler<GatewayContext>({
    apollo,
    maxBodyBytes: opts.maxBodyBytes ?? defaultRequestLimits.maxBodyBytes,
    // Declared below, once every plugin exists; no request arrives before the server listens.
    beforeGraphQL: (request) => door.onGraphQLRequest(request),
    routes: {
      'GET /health': (_req, res) => sendJson(res, 200, { status: 'ok' }),
      'GET /ready': readiness.route(),
    },
    context: async (req) => {
      const viewer = await authenticateAndLimit(req);
      const header = req.headers['x-request-id'];
      const requestId = typeof header === 'string' && /^[\w-]{1,64}$/.test(header) ? header : randomUUID();
      // Every log line written for this request carries its id (logCorrelation).
      const work = workContext.getStore();
      if (work) work.requestId = requestId;
      const internalToken = Promise.resolve(dedupe ? sharedInternalToken(viewer) : signInternalToken({ viewer, requestId }));
      return { viewer, requestId, internalToken, clientAddress: clientAddressOf(req) };
    },
    onUnexpectedError: (error) => opts.logger.error({ err: error }, 'request failed'),
    onRefused: (error) => countRefusal(error.code),
  });

  /**
   * Counts the request against its user (while the token's revocation is checked: one Redis
   * write for both), or against its client address when anonymous. A token that does not verify
   * counts against the address, so guessing tokens is limited like anything else; a revoked one
   * was counted against its user.
   */
  async function authenticateAndLimit(req: IncomingMessage): Promise<Viewer | null> {
    const address = `ip:${clientAddressOf(req) || 'unknown'}`;
    let countedUser = false;
    const countUser = rateLimiter ? (viewer: Viewer) => ((countedUser = true), rateLimiter.consume(`user:${viewer.id}`)) : undefined;
    let viewer: Viewer | null;
    try {
      viewer = await authenticate(req.headers.authorization, countUser);
    } catch (error) {
      if (!countedUser) await rateLimiter?.consume(address);
      throw error;
    }
    if (!viewer) await rateLimiter?.consume(address);
    return viewer;
  }

  const publicHosts = opts.publicHosts ?? (opts.production ? [] : developmentPublicHosts);
  const corsOrigins = opts.corsOrigins ?? (opts.production ? [] : developmentCorsOrigins);
  // @defer answered part by part (multipart/mixed) on the gateway's own executor; `apollo` answers at once.
  const incremental =
    opts.executor === 'apollo'
      ? undefined
      : useIncrementalDelivery({
          schema: () => supergraph,
          dataSource: (name) => dataSources.get(name),
          authenticate: authenticateAndLimit,
          contextFor: (viewer, req) => {
            const header = req.headers['x-request-id'];
            const requestId = typeof header === 'string' && /^[\w-]{1,64}$/.test(header) ? header : randomUUID();
            return { viewer, requestId, clientAddress: clientAddressOf(req), internalToken: Promise.resolve(dedupe ? sharedInternalToken(viewer) : signInternalToken({ viewer, requestId })) };
          },
          formatError: maskUnexpectedErrors(opts.logger),
          fallback: handler,
          limits,
          trustedDocuments: opts.production ? opts.trustedDocuments : undefined,
          maxBodyBytes: opts.maxBodyBytes ?? defaultRequestLimits.maxBodyBytes,
          logger: opts.logger,
        });

  let live: LiveGraph | undefined;
  if (opts.subscriptions) {
    const hostAllowed = hostMatcher(publicHosts);
    const originAllowed = createOriginCheck(corsOrigins);
    live = await startSubscriptions({
      subscriptions: opts.subscriptions,
      apollo,
      apiSchema: () => apiSchema,
      authenticate,
      rateLimit: rateLimiter ? (key) => rateLimiter.consume(key) : undefined,
      // Signed for each run, never shared: a re-query after an event must not join a subgraph
      // fetch that started before the event's commit (dedupeSubgraphFetches).
      contextFor: (viewer) => {
        const requestId = randomUUID();
        // Subscriptions run queries only: no mutation carries this address to accounts.
        return { viewer, requestId, clientAddress: '', internalToken: Promise.resolve(signInternalToken({ viewer, requestId })) };
      },
      // The upgrade passes the same Host check as every request (DNS rebinding), then the Origin check.
      originAllowed: (origin, host) => hostAllowed(host) && originAllowed(origin, host),
      limits,
      production: opts.production,
      trustedDocuments: opts.trustedDocuments,
      maxBodyBytes: opts.maxBodyBytes ?? defaultRequestLimits.maxBodyBytes,
      logger: opts.logger,
    });
  }

  // The door: every concern of the gateway as a plugin, in the order a request meets them.
  // Authentication and the rate limit are the request context's (they decide whom it is for).
  const plugins: Array<GatewayPlugin<GatewayContext>> = [
    useHostCheck(publicHosts),
    useQueryPlanHeaders(opts.exposeQueryPlans === true),
    useHttpSecurity({ production: opts.production, corsOrigins }),
    ...(opts.queueDashboard
      ? [
          useQueueDashboard({
            dashboard: opts.queueDashboard,
            authenticate: authenticateAndLimit,
            internalTokenSecret: opts.internalTokenSecret,
            production: opts.production,
            onUnexpectedError: (error) => opts.logger.error({ err: error }, 'queue dashboard request failed'),
          }),
        ]
      : []),
    ...(live ? [useLiveGraph(live)] : []),
    ...(incremental ? [incremental] : []),
    ...(opts.production ? [useTrustedDocuments(opts.trustedDocuments!)] : []),
    ...operationPlugins,
  ];
  const door = composeGatewayPlugins(plugins);
  const stop = async () => {
    await door.close();
    await apollo.stop();
    await rateLimiter?.close();
    await revocation?.close();
    doorRedis?.disconnect();
  };
  let server: Awaited<ReturnType<typeof listen>>;
  try {
    server = await listen(async (req, res) => {
      if (await door.onRequest(req, res)) return;
      await handler(req, res);
    }, opts.port, opts.host);
  } catch (error) {
    await stop();
    throw error;
  }
  live?.attach(server.server);
  return {
    url: `${server.url}/graphql`,
    baseUrl: server.url,
    readiness,
    close: async () => {
      await live?.close();
      await server.close();
      await stop();
    },
  };
}
