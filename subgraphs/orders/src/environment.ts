import * as z from 'zod';

/** The orders service's own variables (every service's common ones come from service-kit). */
export const ordersEnvironment = {
  /** How long a saga waits on reserving stock or authorizing payment before it compensates. */
  SAGA_STEP_TIMEOUT_MS: z.coerce.number().int().min(100).default(10_000),
};
