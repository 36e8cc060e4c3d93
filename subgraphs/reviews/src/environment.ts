import { z } from 'zod';
import { commonEnvironment, parseEnvironment } from '@mercado/service-kit';

export const environment = parseEnvironment({
  ...commonEnvironment,
  PORT: z.coerce.number().int().min(0).max(65535).default(4005),
  DATABASE_URL: z.string().url().default('postgresql://postgres@127.0.0.1:5432/mercado_reviews'),
});
