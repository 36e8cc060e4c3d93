import { gateway, portsOf, services, urlOf, type Stack } from '@mercado/system';
import { databaseUrlOf } from './prepare.ts';

/**
 * The variables a service's process gets in a stack: where it listens, its database, the broker
 * and Redis under the stack's prefixes, and the shared secret. Replica n listens on the
 * manifest's ports plus n * REPLICA_PORT_STRIDE and shares everything else with its siblings.
 */
export function serviceProcessEnv(stack: Stack, name: string, secret: string, replica = 0): Record<string, string> {
  const ports = portsOf(stack, name, replica);
  return {
    PORT: String(ports.port),
    METRICS_PORT: String(ports.metricsPort),
    HOST: stack.host,
    DATABASE_URL: databaseUrlOf(stack, name),
    INTERNAL_TOKEN_SECRET: secret,
    AMQP_URL: stack.amqpUrl,
    EVENTS_PREFIX: stack.name,
    REDIS_URL: stack.redisUrl,
    SAGA_PREFIX: stack.name,
  };
}

/** Each subgraph's GraphQL URL: those of replica `replica`, unless given. */
export function subgraphUrlsOf(stack: Stack, replica = 0): Record<string, string> {
  return Object.fromEntries(services.map((s) => [s.name, urlOf(stack, portsOf(stack, s.name, replica).port, '/graphql')]));
}

/** The gateway's variables: every subgraph's URL, accounts' keys, Redis for rate limits and the saga dashboard. */
export function gatewayProcessEnv(stack: Stack, secret: string, replica = 0, subgraphUrls = subgraphUrlsOf(stack, replica)): Record<string, string> {
  const ports = portsOf(stack, gateway.name, replica);
  return {
    PORT: String(ports.port),
    METRICS_PORT: String(ports.metricsPort),
    HOST: stack.host,
    INTERNAL_TOKEN_SECRET: secret,
    REDIS_URL: stack.redisUrl,
    RATE_LIMIT_PREFIX: `${stack.name}:gateway:rate`,
    SAGA_PREFIX: stack.name,
    AMQP_URL: stack.amqpUrl,
    EVENTS_PREFIX: stack.name,
    ACCOUNTS_JWKS_URL: subgraphUrls.accounts!.replace(/\/graphql$/, '/.well-known/jwks.json'),
    ...Object.fromEntries(Object.entries(subgraphUrls).map(([name, url]) => [`SUBGRAPH_${name.toUpperCase()}_URL`, url])),
  };
}
