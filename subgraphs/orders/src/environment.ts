import { z } from 'zod';
import { commonEnvironment, parseEnvironment } from '@mercado/service-kit';

export const environment = parseEnvironment({
  ...commonEnvironment,
  PORT: z.coerce.number().int().min(0).max(65535).default(4004),
  DATABASE_URL: z.string().url().default('postgresql://postgres@127.0.0.1:5432/mercado_orders'),
  /** How long a saga waits on reserving stock or authorizing payment before it compensates. */
  SAGA_STEP_TIMEOUT_MS: z.coerce.number().int().min(100).default(10_000),
});
