import { ApolloServer, type BaseContext } from '@apollo/server';
import { ApolloServerPluginInlineTraceDisabled, ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { buildSubgraphSchema } from '@apollo/subgraph';
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper/index.js';
import type { DocumentNode } from 'graphql';
import { maskUnexpectedErrors } from './errorMasking.ts';
import { createHttpHandler, HttpError, listen, sendJson, type ListenOptions, type RouteHandler } from './httpServer.ts';
import { INTERNAL_CONTEXT_HEADER, INTERNAL_IDENTITY, verifyInternalContext, type InternalContext } from './internalContext.ts';
import type { Logger } from './logger.ts';
import type { Readiness } from './readiness.ts';
import { graphqlObservability } from './graphqlObservability.ts';
import { workContext } from '@mercado/telemetry';

export interface SubgraphDefinition<TContext extends BaseContext> {
  name: string;
  typeDefs: DocumentNode;
  resolvers: GraphQLResolverMap<any>;
  /** Per-request context (request-scoped loaders etc.) from the identity the gateway forwarded. */
  context: (internal: InternalContext) => TContext | Promise<TContext>;
  /** Plain routes that need no gateway signature, e.g. accounts' JWKS. */
  routes?: Record<string, RouteHandler>;
}

export interface SubgraphRuntime {
  port: number;
  host?: string;
  internalTokenSecret: string;
  logger: Logger;
  /** Where saga commands go (BullMQ on Redis), for services that start sagas. */
  saga?: SagaRuntime;
  /** What `/ready` reports (the process's dependencies); without it `/ready` answers ready. */
  readiness?: Readiness;
  /** Request timeouts of the HTTP server. */
  listen?: ListenOptions;
}

export interface SagaRuntime {
  redisUrl: string;
  /** BullMQ key prefix; keeps environments and test runs apart on one Redis. */
  prefix: string;
  /** Saga workers' job locks (BullMQ's 30 s defaults unless set); see SagaBusConfig in @mercado/saga. */
  worker?: { lockDuration?: number; stalledInterval?: number };
}

export interface RunningService {
  /** The GraphQL endpoint. */
  url: string;
  /** Scheme, host and port, for the service's other routes. */
  baseUrl: string;
  /** Stops taking requests, lets those in flight finish (at most `graceMs`), then stops. */
  close: (graceMs?: number) => Promise<void>;
}

/**
 * Starts one subgraph: Apollo Server over a Federation 2 schema, behind a check that every
 * GraphQL request carries the gateway's signature. Calling a subgraph port directly gets 401.
 */
export async function startSubgraph<TContext extends BaseContext>(
  def: SubgraphDefinition<TContext>,
  runtime: SubgraphRuntime,
): Promise<RunningService> {
  const apollo = new ApolloServer<TContext>({
    schema: buildSubgraphSchema({ typeDefs: def.typeDefs, resolvers: def.resolvers }),
    includeStacktraceInErrorResponses: false,
    formatError: maskUnexpectedErrors(runtime.logger),
    // No Apollo Studio here: inline tracing would only cost time per request.
    plugins: [ApolloServerPluginLandingPageDisabled(), ApolloServerPluginInlineTraceDisabled(), graphqlObservability(def.name, runtime.logger)],
    logger: runtime.logger,
    // The process's lifecycle stops the server in order (runService); Apollo's own handler would
    // stop it at the first signal and then raise the signal again.
    stopOnTerminationSignals: false,
  });
  await apollo.start();

  const handler = createHttpHandler({
    apollo,
    routes: {
      // Liveness: the process serves HTTP. Readiness (its database, broker, Redis) is /ready, here
      // for the gateway (the only caller a subgraph's public port admits: its /ready asks every
      // subgraph's) and on the management port for probes. It names dependencies, never addresses.
      'GET /health': (_req, res) => sendJson(res, 200, { status: 'ok', service: def.name }),
      'GET /ready': runtime.readiness ? runtime.readiness.route() : (_req, res) => sendJson(res, 200, { status: 'ready', checks: {} }),
      ...def.routes,
    },
    context: async (req) => {
      const header = req.headers[INTERNAL_CONTEXT_HEADER];
      let internal: InternalContext;
      try {
        internal = await verifyInternalContext(Array.isArray(header) ? header[0] : header, runtime.internalTokenSecret);
      } catch {
        throw new HttpError(401, 'UNAUTHENTICATED', 'This service only answers requests signed by the Mercado gateway');
      }
      // Trusted only on a signed request: nobody but the gateway gets this far.
      const address = req.headers[INTERNAL_IDENTITY.clientAddressHeader];
      if (typeof address === 'string' && address.length <= 64) internal.clientAddress = address;
      // Log lines written while serving it carry the client request's id.
      const work = workContext.getStore();
      if (work) work.requestId = internal.requestId;
      return def.context(internal);
    },
    onUnexpectedError: (error) => runtime.logger.error({ err: error }, 'request failed'),
  });
  const { url, close } = await listen(handler, runtime.port, runtime.host, runtime.listen);
  return {
    url: `${url}/graphql`,
    baseUrl: url,
    close: async (graceMs) => {
      await close(graceMs);
      await apollo.stop();
    },
  };
}
