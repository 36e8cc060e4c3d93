import { z } from 'zod';
import { parseEnvironment } from '@mercado/service-kit';

/** What the start-up scripts read; each service reads its own variables itself. */
export const environment = parseEnvironment({
  POSTGRES_URL: z.string().url().default('postgresql://postgres@127.0.0.1:5432/postgres'),
  REDIS_URL: z.string().url().default('redis://127.0.0.1:6379'),
  AMQP_URL: z.string().url().default('amqp://guest:guest@127.0.0.1:5672'),
  EVENTS_PREFIX: z.string().regex(/^[a-z0-9-]+$/).default('mercado'),
  GATEWAY_PORT: z.coerce.number().int().default(4000),
  HOST: z.string().default('127.0.0.1'),
});

/** A URL fit for printing: any password replaced. */
export function redact(url: string): string {
  const u = new URL(url);
  if (u.password) u.password = '***';
  return u.toString();
}
