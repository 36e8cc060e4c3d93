import { readFileSync } from 'node:fs';
import { closeOnSignals, createLogger } from '@mercado/service-kit';
import { corsOrigins, environment as env, subgraphUrlOverrides } from './environment.ts';
import { startGateway } from './gateway.ts';
import { loadTrustedDocuments } from './trustedDocuments.ts';

const logger = createLogger('gateway', env.LOG_LEVEL);
const production = env.NODE_ENV === 'production';
const gateway = await startGateway({
  supergraphSdl: readFileSync(env.SUPERGRAPH_PATH, 'utf8'),
  subgraphUrls: subgraphUrlOverrides(),
  auth: { jwksUrl: env.ACCOUNTS_JWKS_URL, issuer: env.JWT_ISSUER, audience: env.JWT_AUDIENCE },
  internalTokenSecret: env.INTERNAL_TOKEN_SECRET,
  production,
  trustedDocuments: production ? loadTrustedDocuments(env.TRUSTED_DOCUMENTS_PATH) : undefined,
  limits: {
    maxDepth: env.MAX_QUERY_DEPTH,
    maxCost: env.MAX_QUERY_COST,
    maxAliases: env.MAX_QUERY_ALIASES,
    maxDirectives: env.MAX_QUERY_DIRECTIVES,
    maxTokens: env.MAX_QUERY_TOKENS,
  },
  maxBodyBytes: env.MAX_BODY_BYTES,
  subgraphTimeoutMs: env.SUBGRAPH_TIMEOUT_MS,
  readinessTimeoutMs: env.READINESS_TIMEOUT_MS,
  corsOrigins: corsOrigins(),
  rateLimit: {
    redisUrl: env.REDIS_URL,
    keyPrefix: env.RATE_LIMIT_PREFIX,
    points: env.RATE_LIMIT_POINTS,
    durationSeconds: env.RATE_LIMIT_DURATION_SECONDS,
  },
  logger,
  port: env.PORT,
  host: env.HOST,
});
logger.info({ url: gateway.url, supergraph: env.SUPERGRAPH_PATH, production }, 'gateway ready');
closeOnSignals(logger, [gateway.close]);
