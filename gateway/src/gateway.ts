import { randomUUID } from 'node:crypto';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { ApolloServerPluginLandingPageLocalDefault } from '@apollo/server/plugin/landingPage/default';
import { ApolloGateway, RemoteGraphQLDataSource } from '@apollo/gateway';
import {
  createHttpHandler,
  INTERNAL_CONTEXT_HEADER,
  listen,
  maskUnexpectedErrors,
  sendJson,
  signInternalContext,
  type Logger,
  type RunningService,
  type Viewer,
} from '@mercado/service-kit';
import { createAuthenticator, type AuthenticationOptions } from './authentication.ts';

export interface GatewayContext {
  viewer: Viewer | null;
  requestId: string;
  /** Signed once per client request, reused for every subgraph fetch it fans out to. */
  internalToken: Promise<string>;
}

export interface GatewayOptions {
  supergraphSdl: string;
  /** Subgraph URL by name, overriding the URL written in the supergraph. */
  subgraphUrls?: Record<string, string>;
  auth: AuthenticationOptions;
  internalTokenSecret: string;
  production: boolean;
  logger: Logger;
  port: number;
  host?: string;
}

/** Starts the gateway: verifies the caller, plans over the supergraph, signs subgraph calls. */
export async function startGateway(opts: GatewayOptions): Promise<RunningService> {
  const gateway = new ApolloGateway({
    supergraphSdl: opts.supergraphSdl,
    logger: opts.logger,
    buildService: ({ name, url }) =>
      new RemoteGraphQLDataSource<GatewayContext>({
        url: opts.subgraphUrls?.[name] ?? url,
        willSendRequest: async ({ request, context }) => {
          // Introspection by the gateway itself at start-up has no client context.
          if (context.internalToken) request.http?.headers.set(INTERNAL_CONTEXT_HEADER, await context.internalToken);
        },
      }),
  });

  const apollo = new ApolloServer<GatewayContext>({
    gateway,
    introspection: !opts.production,
    includeStacktraceInErrorResponses: false,
    formatError: maskUnexpectedErrors(opts.logger),
    logger: opts.logger,
    plugins: [
      opts.production
        ? ApolloServerPluginLandingPageDisabled()
        : ApolloServerPluginLandingPageLocalDefault({ embed: true, includeCookies: false }),
    ],
  });
  await apollo.start();

  const authenticate = createAuthenticator(opts.auth);
  const handler = createHttpHandler<GatewayContext>({
    apollo,
    routes: {
      'GET /health': (_req, res) => sendJson(res, 200, { status: 'ok' }),
    },
    context: async (req) => {
      const viewer = await authenticate(req.headers.authorization);
      const header = req.headers['x-request-id'];
      const requestId = typeof header === 'string' && /^[\w-]{1,64}$/.test(header) ? header : randomUUID();
      const internalToken = signInternalContext({ viewer, requestId }, opts.internalTokenSecret);
      return { viewer, requestId, internalToken };
    },
    onUnexpectedError: (error) => opts.logger.error({ err: error }, 'request failed'),
  });
  const { url, close } = await listen(handler, opts.port, opts.host);
  return {
    url: `${url}/graphql`,
    baseUrl: url,
    close: async () => {
      await close();
      await apollo.stop();
    },
  };
}
