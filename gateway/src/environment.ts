import { fileURLToPath } from 'node:url';
import * as z from 'zod';
import { commonEnvironment, parseEnvironment } from '@mercado/service-kit';
import { developmentCorsOrigins } from './httpSecurity.ts';
import { defaultOperationLimits, defaultRequestLimits } from './limits.ts';
import { defaultDemandControl } from './demandControl.ts';
import { developmentPublicHosts } from './hostCheck.ts';
import { assertProductionSecret } from '@mercado/service-kit';
import { subgraphs } from './subgraphs.ts';
import { gateway } from '@mercado/system';
import { defaultSubscriptionLimits } from './subscriptions/defaults.ts';
import { trustedDocumentsPath } from './trustedDocuments.ts';

const urlOverrides = Object.fromEntries(
  subgraphs.map(({ name }) => [`SUBGRAPH_${name.toUpperCase()}_URL`, z.string().url().optional()]),
);

const positive = (fallback: number) => z.coerce.number().int().positive().default(fallback);

export const gatewayEnvironment = {
  ...commonEnvironment,
  PORT: z.coerce.number().int().min(0).max(65535).default(gateway.port),
  /** Prometheus /metrics, /health and /ready, off the public port (docs/observability.md). */
  METRICS_PORT: z.coerce.number().int().min(0).max(65535).default(gateway.metricsPort),
  /** Any composed supergraph; subgraph URLs come from the file unless overridden below. */
  SUPERGRAPH_PATH: z.string().default(fileURLToPath(new URL('../supergraph.graphql', import.meta.url))),
  ACCOUNTS_JWKS_URL: z.string().url().default('http://127.0.0.1:4001/.well-known/jwks.json'),
  JWT_ISSUER: z.string().default('mercado-accounts'),
  JWT_AUDIENCE: z.string().default('mercado'),
  /** The only operations production runs; written by `npm run trusted-documents -w @mercado/gateway`. */
  TRUSTED_DOCUMENTS_PATH: z.string().default(trustedDocumentsPath),
  MAX_QUERY_DEPTH: positive(defaultOperationLimits.maxDepth),
  MAX_QUERY_COST: positive(defaultOperationLimits.maxCost),
  MAX_QUERY_ALIASES: positive(defaultOperationLimits.maxAliases),
  MAX_QUERY_DIRECTIVES: positive(defaultOperationLimits.maxDirectives),
  MAX_QUERY_TOKENS: positive(defaultOperationLimits.maxTokens),
  MAX_BODY_BYTES: positive(defaultRequestLimits.maxBodyBytes),
  /** Demand control: the size assumed for a list field without @listSize (introspection's lists too). */
  COST_DEFAULT_LIST_SIZE: positive(defaultDemandControl.defaultListSize),
  /** `true`: every response carries `extensions.cost { estimated, actual, max }`. */
  COST_REPORT: z.enum(['true', 'false']).default('false').transform((value) => value === 'true'),
  /** Comma-separated host names the gateway answers to (`*` for one label); unset: loopback names in development, no check in production. */
  PUBLIC_HOSTS: z.string().optional(),
  /** Comma-separated load balancers (addresses or CIDR ranges) whose X-Forwarded-For names the client; unset: none. */
  TRUSTED_PROXIES: z.string().optional(),
  /** `true`: the Apollo-Query-Plan-Experimental header returns query plans (debugging only). */
  GATEWAY_EXPOSE_QUERY_PLANS: z.enum(['true', 'false']).default('false').transform((value) => value === 'true'),
  SUBGRAPH_TIMEOUT_MS: positive(defaultRequestLimits.subgraphTimeoutMs),
  READINESS_TIMEOUT_MS: positive(defaultRequestLimits.readinessTimeoutMs),
  REDIS_URL: z.string().url().default('redis://127.0.0.1:6379'),
  /** BullMQ key prefix of the saga queues the admins' dashboard shows. */
  SAGA_PREFIX: z.string().regex(/^[a-z0-9-]+$/).default('mercado'),
  RATE_LIMIT_PREFIX: z.string().min(1).default('mercado:gateway:rate'),
  /** 600 a minute: ten a second per user (or anonymous address), far above what a person clicks. */
  RATE_LIMIT_POINTS: positive(600),
  RATE_LIMIT_DURATION_SECONDS: positive(60),
  /**
   * Gateway processes sharing the port (node:cluster); 1 runs a single process. Default 1: on a
   * small shared host the subgraphs need the other core, and each worker costs ~250 MB. Set it
   * to the number of cores on a host of its own.
   */
  GATEWAY_WORKERS: z.coerce.number().int().min(1).max(64).default(1),
  /**
   * How far V8 lets the heap grow past what survived the last full collection, in percent; 0
   * leaves V8's own heuristics. V8 grows up to 4x under a high allocation rate, and a gateway
   * allocates fast and keeps little (each response lives for one request): at its default 50
   * the heap stays about a third smaller under load for a few percent more CPU in collections.
   */
  GATEWAY_HEAP_GROWTH_PERCENT: z.coerce.number().int().min(0).max(1000).default(50),
  /** `true`: identical subgraph queries in flight for the same identity share one request; `false`: each is sent. */
  SUBGRAPH_DEDUPE: z.enum(['true', 'false']).default('true').transform((value) => value === 'true'),
  /** `fast`: the gateway's compiled executor (Apollo's for what it does not take on); `apollo`: Apollo's only. */
  GATEWAY_EXECUTOR: z.enum(['fast', 'apollo']).default('fast'),
  /** Comma-separated origins (`*` for one port or host label); unset: local origins in development, none in production. */
  CORS_ORIGINS: z.string().optional(),
  /** The admins' saga queue dashboard at /admin/queues (over REDIS_URL and SAGA_PREFIX); unset: on in development, off in production. */
  ADMIN_DASHBOARD: z.enum(['on', 'off']).optional(),
  /** The broker whose integration events feed subscriptions; unset: the gateway serves no subscriptions. */
  AMQP_URL: z.string().url().optional(),
  /** Prefix of the events exchange (`<prefix>.events`), as the services' EVENTS_PREFIX. */
  EVENTS_PREFIX: z.string().min(1).default('mercado'),
  MAX_SUBSCRIPTIONS_PER_CONNECTION: positive(defaultSubscriptionLimits.maxPerConnection),
  MAX_SUBSCRIPTIONS_PER_USER: positive(defaultSubscriptionLimits.maxPerUser),
  ...urlOverrides,
};

export type GatewayEnvironment = z.infer<z.ZodObject<typeof gatewayEnvironment>>;

/** Parses the gateway's variables; refuses a production configuration that is not safe to run. */
export function parseGatewayEnvironment(source: NodeJS.ProcessEnv = process.env): GatewayEnvironment {
  const env = parseEnvironment(gatewayEnvironment, source);
  assertProductionSecret(env.NODE_ENV === 'production', env.INTERNAL_TOKEN_SECRET);
  return env;
}

/** CORS_ORIGINS as a list, or its default for NODE_ENV. */
export function corsOrigins(env: Pick<GatewayEnvironment, 'CORS_ORIGINS' | 'NODE_ENV'>): string[] {
  if (env.CORS_ORIGINS === undefined) return env.NODE_ENV === 'production' ? [] : developmentCorsOrigins;
  return env.CORS_ORIGINS.split(',').map((origin) => origin.trim()).filter(Boolean);
}

/** Whether the gateway serves the queue dashboard: ADMIN_DASHBOARD, or else everywhere but production. */
export function queueDashboardEnabled(env: Pick<GatewayEnvironment, 'ADMIN_DASHBOARD' | 'NODE_ENV'>): boolean {
  return env.ADMIN_DASHBOARD ? env.ADMIN_DASHBOARD === 'on' : env.NODE_ENV !== 'production';
}

/** SUBGRAPH_<NAME>_URL variables, by subgraph name. */
export function subgraphUrlOverrides(env: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(env)
      .filter(([key, value]) => /^SUBGRAPH_[A-Z0-9_]+_URL$/.test(key) && typeof value === 'string')
      .map(([key, value]) => [key.slice('SUBGRAPH_'.length, -'_URL'.length).toLowerCase(), value as string]),
  );
}

/** PUBLIC_HOSTS as a list, or its default for NODE_ENV (an empty list checks nothing). */
export function publicHosts(env: Pick<GatewayEnvironment, 'PUBLIC_HOSTS' | 'NODE_ENV'>): string[] {
  if (env.PUBLIC_HOSTS === undefined) return env.NODE_ENV === 'production' ? [] : developmentPublicHosts;
  return env.PUBLIC_HOSTS.split(',').map((host) => host.trim()).filter(Boolean);
}
