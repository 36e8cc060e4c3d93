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
import { defaultDemandControl, demandControl } from './demandControl.ts';
import { createHttpSecurity, developmentCorsOrigins } from './httpSecurity.ts';
import { createHostCheck, developmentPublicHosts } from './hostCheck.ts';
import { checkPersistedQuery, refuseNulBytes, stripQueryPlanHeaders } from './requestHygiene.ts';
import { defaultOperationLimits, defaultRequestLimits, operationLimits, type OperationLimits } from './limits.ts';
import { assertProductionSecret } from '@mercado/service-kit';
import { withFastExecutor } from './executor/fastExecutor.ts';
import { createQueueDashboard, type QueueDashboardOptions } from './queueDashboard.ts';
import { createRateLimiter, type RateLimitOptions } from './rateLimit.ts';
import { internalTokenSigner, sharedInternalTokens } from './internalToken.ts';
import { pinSupergraphNames } from './oneByteNames.ts';
import { gatewayReadiness, subgraphReady } from './readiness.ts';
import { countRefusal, gatewayObservability, type OperationTrace } from './observability.ts';
import { SubgraphDataSource } from './subgraphDataSource.ts';
import { subgraphFetcher } from './subgraphFetcher.ts';
import { trustedDocumentsGuard, trustedDocumentsStore, type TrustedDocuments } from './trustedDocuments.ts';

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
  /** Whether the Apollo-Query-Plan-Experimental header returns query plans; default false. */
  exposeQueryPlans?: boolean;
  /** Requests per user (or anonymous client address) per window, counted in Redis; omitted: no limit. */
  rateLimit?: RateLimitOptions;
  /** The saga queues' dashboard at /admin/queues, for admins; omitted: no /admin routes at all. */
  queueDashboard?: QueueDashboardOptions;
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

  const apollo = new ApolloServer<GatewayContext>({
    gateway:
      opts.executor === 'apollo'
        ? gateway
        : withFastExecutor(gateway, { dataSource: (name) => dataSources.get(name), logger: opts.logger }),
    introspection: !opts.production,
    includeStacktraceInErrorResponses: false,
    formatError: maskUnexpectedErrors(opts.logger),
    logger: opts.logger,
    // The process's lifecycle stops the gateway in order; Apollo's own handler would stop it at
    // the first signal and then raise the signal again.
    stopOnTerminationSignals: false,
    ...operationLimits(limits),
    // "Did you mean ...?" would spell out the schema that production keeps to itself.
    hideSchemaDetailsFromClientErrors: opts.production,
    // One HTTP request, one operation: a batch would multiply the work behind one rate-limit point.
    allowBatchedHttpRequests: false,
    // Development: Apollo's automatic persisted queries (any client may register a document).
    // Production: hashes are looked up in the trusted documents and nothing can be registered.
    persistedQueries: opts.production ? trustedDocumentsStore(opts.trustedDocuments!) : {},
    plugins: [
      gatewayObservability<GatewayContext>(opts.logger),
      refuseNulBytes(),
      demandControl(opts.supergraphSdl, { maxCost: limits.maxCost, ...defaultDemandControl, ...opts.demandControl }),
      opts.production
        ? ApolloServerPluginLandingPageDisabled()
        : ApolloServerPluginLandingPageLocalDefault({ embed: true, includeCookies: false }),
    ],
  });
  await apollo.start();
  readiness.markStarted();

  const rateLimiter = opts.rateLimit ? await createRateLimiter(opts.rateLimit, opts.logger) : undefined;
  const authenticate = createAuthenticator(opts.auth);
  const signInternalToken = internalTokenSigner(opts.internalTokenSecret);
  const sharedInternalToken = sharedInternalTokens(opts.internalTokenSecret);
  const handler = createHttpHandler<GatewayContext>({
    apollo,
    maxBodyBytes: opts.maxBodyBytes ?? defaultRequestLimits.maxBodyBytes,
    beforeGraphQL: (request) => {
      if (opts.production) trustedDocumentsGuard(opts.trustedDocuments!)(request);
      checkPersistedQuery(request);
    },
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
      return { viewer, requestId, internalToken, clientAddress: req.socket.remoteAddress ?? '' };
    },
    onUnexpectedError: (error) => opts.logger.error({ err: error }, 'request failed'),
    onRefused: (error) => countRefusal(error.code),
  });

  /**
   * Counts the request against its user, or against its client address when anonymous. A
   * refused token counts against the address too, so guessing tokens is limited like anything else.
   */
  async function authenticateAndLimit(req: IncomingMessage): Promise<Viewer | null> {
    const address = `ip:${req.socket.remoteAddress ?? 'unknown'}`;
    let viewer: Viewer | null;
    try {
      viewer = await authenticate(req.headers.authorization);
    } catch (error) {
      await rateLimiter?.consume(address);
      throw error;
    }
    await rateLimiter?.consume(viewer ? `user:${viewer.id}` : address);
    return viewer;
  }

  const dashboard = opts.queueDashboard
    ? createQueueDashboard({
        dashboard: opts.queueDashboard,
        authenticate: authenticateAndLimit,
        internalTokenSecret: opts.internalTokenSecret,
        production: opts.production,
        onUnexpectedError: (error) => opts.logger.error({ err: error }, 'queue dashboard request failed'),
      })
    : undefined;

  const checkHost = createHostCheck(opts.publicHosts ?? (opts.production ? [] : developmentPublicHosts));
  const applyHttpSecurity = createHttpSecurity({
    production: opts.production,
    corsOrigins: opts.corsOrigins ?? (opts.production ? [] : developmentCorsOrigins),
  });
  const stop = async () => {
    await apollo.stop();
    await rateLimiter?.close();
    await dashboard?.close();
  };
  let server: Awaited<ReturnType<typeof listen>>;
  try {
    server = await listen(async (req, res) => {
      if (checkHost(req, res)) return countRefusal('HOST_NOT_ALLOWED');
      if (!opts.exposeQueryPlans) stripQueryPlanHeaders(req);
      if (applyHttpSecurity(req, res)) {
        if (res.statusCode === 403) countRefusal('ORIGIN_NOT_ALLOWED');
        return;
      }
      if (dashboard?.handles(req)) return dashboard.handle(req, res);
      await handler(req, res);
    }, opts.port, opts.host);
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    url: `${server.url}/graphql`,
    baseUrl: server.url,
    readiness,
    close: async () => {
      await server.close();
      await stop();
    },
  };
}
