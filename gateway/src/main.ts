import { readFileSync } from 'node:fs';
import { closeOnSignals, createLogger } from '@mercado/service-kit';
import { environment as env, subgraphUrlOverrides } from './environment.ts';
import { startGateway } from './gateway.ts';

const logger = createLogger('gateway', env.LOG_LEVEL);
const gateway = await startGateway({
  supergraphSdl: readFileSync(env.SUPERGRAPH_PATH, 'utf8'),
  subgraphUrls: subgraphUrlOverrides(),
  auth: { jwksUrl: env.ACCOUNTS_JWKS_URL, issuer: env.JWT_ISSUER, audience: env.JWT_AUDIENCE },
  internalTokenSecret: env.INTERNAL_TOKEN_SECRET,
  production: env.NODE_ENV === 'production',
  logger,
  port: env.PORT,
  host: env.HOST,
});
logger.info({ url: gateway.url, supergraph: env.SUPERGRAPH_PATH }, 'gateway ready');
closeOnSignals(logger, [gateway.close]);
