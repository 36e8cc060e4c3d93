import cluster from 'node:cluster';
import { readFileSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { createLogger, shutdownOnSignals, startManagementServer } from '@mercado/service-kit';
import { startTelemetry } from '@mercado/telemetry';
import { servePrimaryManagement } from './management.ts';
import { joinCluster, runPrimary } from './cluster.ts';
import { corsOrigins, parseGatewayEnvironment, publicHosts, queueDashboardEnabled, subgraphUrlOverrides } from './environment.ts';
import { loadTrustedDocuments } from './trustedDocuments.ts';

const env = parseGatewayEnvironment();

// Read by V8 at every full collection, so it applies from here on (each cluster worker runs this too).
if (env.GATEWAY_HEAP_GROWTH_PERCENT > 0) setFlagsFromString(`--heap-growing-percent=${env.GATEWAY_HEAP_GROWTH_PERCENT}`);

const logger = createLogger('gateway', env.LOG_LEVEL);
const production = env.NODE_ENV === 'production';
const workers = env.GATEWAY_WORKERS;
const ready = (url: string) => logger.info({ url, supergraph: env.SUPERGRAPH_PATH, production, workers }, 'gateway ready');

if (workers > 1 && cluster.isPrimary) {
  // One process per core: each worker runs the whole gateway and they share the port.
  runPrimary({ workers, logger, onReady: ready });
  // The workers share the public port; the primary alone holds the management port, where
  // /metrics adds up every worker's figures (prom-client's cluster aggregation).
  await servePrimaryManagement({ port: env.METRICS_PORT, host: env.HOST, publicPort: env.PORT, logger });
} else {
  const worker = cluster.isWorker ? joinCluster(logger) : undefined;
  // Before the gateway's modules load: spans from here on (OTEL_* variables; off unless asked).
  const telemetry = await startTelemetry('gateway');
  // Loaded here only: a cluster's primary does not serve, and stays small without it.
  const { startGateway } = await import('./gateway.ts');
  const gateway = await startGateway({
    supergraphSdl: readFileSync(env.SUPERGRAPH_PATH, 'utf8'),
    subgraphUrls: subgraphUrlOverrides(env),
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
    demandControl: { defaultListSize: env.COST_DEFAULT_LIST_SIZE, report: env.COST_REPORT },
    publicHosts: publicHosts(env),
    exposeQueryPlans: env.GATEWAY_EXPOSE_QUERY_PLANS,
    maxBodyBytes: env.MAX_BODY_BYTES,
    subgraphTimeoutMs: env.SUBGRAPH_TIMEOUT_MS,
    executor: env.GATEWAY_EXECUTOR,
    dedupeSubgraphFetches: env.SUBGRAPH_DEDUPE,
    readinessTimeoutMs: env.READINESS_TIMEOUT_MS,
    corsOrigins: corsOrigins(env),
    rateLimit: {
      redisUrl: env.REDIS_URL,
      keyPrefix: env.RATE_LIMIT_PREFIX,
      points: env.RATE_LIMIT_POINTS,
      durationSeconds: env.RATE_LIMIT_DURATION_SECONDS,
    },
    queueDashboard: queueDashboardEnabled(env) ? { redisUrl: env.REDIS_URL, prefix: env.SAGA_PREFIX } : undefined,
    logger,
    port: env.PORT,
    host: env.HOST,
  });
  const flushSpans = async () => telemetry?.shutdown();
  if (worker) {
    worker.serving(gateway.url, [gateway.close, flushSpans]);
  } else {
    const management = await startManagementServer({ name: 'gateway', port: env.METRICS_PORT, host: env.HOST, readiness: gateway.readiness });
    ready(gateway.url);
    shutdownOnSignals({
      logger,
      readiness: gateway.readiness,
      delayMs: env.SHUTDOWN_DELAY_MS,
      graceMs: env.SHUTDOWN_GRACE_MS,
      // Stop taking requests and finish those in flight, then what served them, then the figures.
      stages: [[{ name: 'http', run: () => gateway.close() }], [{ name: 'management', run: () => management.close() }, { name: 'telemetry', run: flushSpans }]],
    });
  }
}
