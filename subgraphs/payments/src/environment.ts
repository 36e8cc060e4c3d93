import * as z from 'zod';
import { DEFAULT_CREDIT_LIMIT_CENTS, MAX_CREDIT_LIMIT_CENTS } from './domain/accounts.ts';

/** The payments service's own variables (every service's common ones come from service-kit). */
export const paymentsEnvironment = {
  /** Credit of a customer payments has not seen yet (accounts has no integration events for payments to follow). */
  DEFAULT_CREDIT_LIMIT_CENTS: z.coerce.number().int().min(0).max(MAX_CREDIT_LIMIT_CENTS).default(DEFAULT_CREDIT_LIMIT_CENTS),
};
