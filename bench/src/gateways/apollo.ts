/**
 * The baseline: a plain @apollo/gateway + @apollo/server with default settings, the way its
 * documentation starts one. Run as a process with SUPERGRAPH_PATH and PORT: the bench compiles
 * it to bench/dist/gateways/apollo.js with the bundler that builds Mercado's gateway, and runs
 * that with node (`tsx bench/src/gateways/apollo.ts` works too).
 *
 * Mercado's subgraphs answer only requests carrying the gateway's signed identity, so when
 * `mercado` options are given the baseline does the same minimum Mercado's gateway does per
 * request: verify the caller's JWT against the accounts JWKS and sign one x-mercado-context
 * token, sent on every subgraph fetch. Nothing else is added.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ApolloGateway, RemoteGraphQLDataSource } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';
import { INTERNAL_CONTEXT_HEADER, signInternalContext, type Viewer } from '@mercado/service-kit';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { z } from 'zod';

export interface ApolloBaselineOptions {
  supergraphSdl: string;
  port: number;
  host?: string;
  /** Sign Mercado's internal identity header (needed only for Mercado's own subgraphs). */
  mercado?: { internalTokenSecret: string; jwksUrl: string };
}

interface Context {
  internalToken?: Promise<string>;
}

export async function startApolloBaseline(opts: ApolloBaselineOptions): Promise<{ url: string; stop: () => Promise<void> }> {
  const mercado = opts.mercado;
  const gateway = new ApolloGateway({
    supergraphSdl: opts.supergraphSdl,
    ...(mercado && {
      buildService: ({ url }) =>
        new RemoteGraphQLDataSource<Context>({
          url,
          willSendRequest: async ({ request, context }) => {
            if (context.internalToken) request.http?.headers.set(INTERNAL_CONTEXT_HEADER, await context.internalToken);
          },
        }),
    }),
  });
  const server = new ApolloServer<Context>({ gateway });
  const keys = mercado && createRemoteJWKSet(new URL(mercado.jwksUrl));
  const { url } = await startStandaloneServer(server, {
    listen: { port: opts.port, host: opts.host ?? '127.0.0.1' },
    context: async ({ req }) => {
      if (!mercado || !keys) return {};
      let viewer: Viewer | null = null;
      const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
      if (bearer) {
        const { payload } = await jwtVerify(bearer, keys, { issuer: 'mercado-accounts', audience: 'mercado' });
        viewer = { id: String(payload.sub), role: payload.role === 'admin' ? 'admin' : 'customer' };
      }
      return { internalToken: signInternalContext({ viewer, requestId: 'bench' }, mercado.internalTokenSecret) };
    },
  });
  return { url: new URL('graphql', url).toString(), stop: () => server.stop() };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  // tsx turns on source-mapped stack traces; @apollo/gateway's default fetcher (agent-base)
  // builds a stack trace for every subgraph request, which then costs several times the
  // request itself. The baseline must run as the compiled JavaScript a user deploys would.
  process.setSourceMapsEnabled(false);
  const env = z
    .object({
      SUPERGRAPH_PATH: z.string(),
      PORT: z.coerce.number().int(),
      MERCADO_INTERNAL_TOKEN_SECRET: z.string().optional(),
      ACCOUNTS_JWKS_URL: z.string().url().optional(),
    })
    .parse(process.env);
  const running = await startApolloBaseline({
    supergraphSdl: readFileSync(env.SUPERGRAPH_PATH, 'utf8'),
    port: env.PORT,
    ...(env.MERCADO_INTERNAL_TOKEN_SECRET &&
      env.ACCOUNTS_JWKS_URL && {
        mercado: { internalTokenSecret: env.MERCADO_INTERNAL_TOKEN_SECRET, jwksUrl: env.ACCOUNTS_JWKS_URL },
      }),
  });
  console.log(`apollo baseline ready at ${running.url}`);
  const stop = () => void running.stop().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
