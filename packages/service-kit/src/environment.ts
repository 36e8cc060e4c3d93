import { z } from 'zod';

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

/** Variables every service reads. */
export const commonEnvironment = {
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  HOST: z.string().default('127.0.0.1'),
  /** Shared by the gateway and the subgraphs; signs the identity the gateway forwards. */
  AMQP_URL: z.string().url().default('amqp://guest:guest@127.0.0.1:5672'),
  /** Prefix of the broker's exchanges and queues; keeps environments apart on one broker. */
  EVENTS_PREFIX: z.string().regex(/^[a-z0-9-]+$/).default('mercado'),
  REDIS_URL: z.string().url().default('redis://127.0.0.1:6379'),
  /** BullMQ key prefix for saga queues. */
  SAGA_PREFIX: z.string().regex(/^[a-z0-9-]+$/).default('mercado'),
  INTERNAL_TOKEN_SECRET: z.string().min(32, 'must be at least 32 characters').default('mercado-development-internal-secret-change-me'),
};
