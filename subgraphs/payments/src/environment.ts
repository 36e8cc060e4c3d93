import { z } from 'zod';
import { commonEnvironment, parseEnvironment } from '@mercado/service-kit';
import { DEFAULT_CREDIT_LIMIT_CENTS, MAX_CREDIT_LIMIT_CENTS } from './domain/accounts.ts';

export const environment = parseEnvironment({
  ...commonEnvironment,
  PORT: z.coerce.number().int().min(0).max(65535).default(4006),
  DATABASE_URL: z.string().url().default('postgresql://postgres@127.0.0.1:5432/mercado_payments'),
  /** Credit of a customer payments has not seen yet (accounts has no integration events for payments to follow). */
  DEFAULT_CREDIT_LIMIT_CENTS: z.coerce.number().int().min(0).max(MAX_CREDIT_LIMIT_CENTS).default(DEFAULT_CREDIT_LIMIT_CENTS),
});
