import { ApolloServer, type BaseContext } from '@apollo/server';
import { ApolloServerPluginInlineTraceDisabled, ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { buildSubgraphSchema } from '@apollo/subgraph';
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper/index.js';
import type { DocumentNode } from 'graphql';
import { maskUnexpectedErrors } from './errorMasking.ts';
import { createHttpHandler, HttpError, listen, sendJson, type RouteHandler } from './httpServer.ts';
import { INTERNAL_CONTEXT_HEADER, verifyInternalContext, type InternalContext } from './internalContext.ts';
import type { Logger } from './logger.ts';
import { register as metricsRegistry } from 'prom-client';

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
  close: () => Promise<void>;
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
    plugins: [ApolloServerPluginLandingPageDisabled(), ApolloServerPluginInlineTraceDisabled()],
    logger: runtime.logger,
  });
  await apollo.start();

  const handler = createHttpHandler({
    apollo,
    routes: {
      'GET /health': (_req, res) => sendJson(res, 200, { status: 'ok', service: def.name }),
      // Prometheus metrics: replication lag of its consumers, process figures.
      'GET /metrics': async (_req, res) => {
        res.writeHead(200, { 'content-type': metricsRegistry.contentType });
        res.end(await metricsRegistry.metrics());
      },
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
      return def.context(internal);
    },
    onUnexpectedError: (error) => runtime.logger.error({ err: error }, 'request failed'),
  });
  const { url, close } = await listen(handler, runtime.port, runtime.host);
  return {
    url: `${url}/graphql`,
    baseUrl: url,
    close: async () => {
      await close();
      await apollo.stop();
    },
  };
}
