import * as z from 'zod';
import { serviceDeclaration } from '@mercado/system';

/**
 * Parses environment variables once at start-up. A bad or missing variable stops the process
 * with a message naming it, instead of failing later in some request.
 */
export function parseEnvironment<S extends z.ZodRawShape>(
  shape: S,
  source: NodeJS.ProcessEnv = process.env,
): z.infer<z.ZodObject<S>> {
  const result = z.object(shape).safeParse(source);
  if (!result.success) {
    const problems = result.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`).join('\n');
    throw new Error(`invalid environment:\n${problems}`);
  }
  return result.data;
}

const port = z.coerce.number().int().min(0).max(65535);
const required = (what: string) => ({ error: (issue: { input: unknown }) => (issue.input === undefined ? `required: ${what}` : undefined) });

/** Variables every process reads (the gateway's and every service's). */
export const commonEnvironment = {
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  HOST: z.string().default('127.0.0.1'),
  /**
   * Shared by the gateway and the services; signs the identity the gateway forwards. No default:
   * `npm start` generates one per installation (.mercado/secrets.env), production sets its own.
   */
  INTERNAL_TOKEN_SECRET: z.string(required('a random secret of at least 32 characters, the same for the gateway and every service')).min(32, 'must be at least 32 characters'),
  /** Past this, a shutdown stops waiting for work in hand and exits 1 (Kubernetes' own grace is 30 s). */
  SHUTDOWN_GRACE_MS: z.coerce.number().int().min(0).default(25_000),
  /** After turning not ready and before stopping anything: the time a load balancer needs to stop sending. */
  SHUTDOWN_DELAY_MS: z.coerce.number().int().min(0).default(0),
};

/** A service that publishes or consumes integration events. */
export const brokerEnvironment = {
  AMQP_URL: z.string(required('the RabbitMQ broker, e.g. amqp://user:password@host:5672')).url(),
  /** Prefix of the broker's exchanges and queues; keeps environments apart on one broker. */
  EVENTS_PREFIX: z.string().regex(/^[a-z0-9-]+$/).default('mercado'),
};

/** A service with saga queues (BullMQ on Redis). */
export const sagaEnvironment = {
  REDIS_URL: z.string(required('the Redis of the saga queues, e.g. redis://host:6379')).url(),
  /** BullMQ key prefix of the saga queues. */
  SAGA_PREFIX: z.string().regex(/^[a-z0-9-]+$/).default('mercado'),
};

/** What every service process reads besides its own variables; ports default to the manifest's. */
export function serviceEnvironment(name: string) {
  const declared = serviceDeclaration(name);
  return {
    ...commonEnvironment,
    PORT: port.default(declared.port),
    /** Prometheus /metrics, /health and /ready, off the public port. */
    METRICS_PORT: port.default(declared.metricsPort),
    DATABASE_URL: z.string(required(`the ${name} service's own PostgreSQL database, e.g. postgresql://user@host:5432/mercado_${name}`)).url(),
    /**
     * Each distinct statement prepared once per connection (event-bus's preparedStatements.ts reads
     * it); 'false' behind a pooler in transaction mode that cannot keep prepared statements.
     */
    DATABASE_PREPARED_STATEMENTS: z.enum(['true', 'false']).default('true'),
  };
}
