import { z } from 'zod';

/** The accounts service's own variables (every service's common ones come from service-kit). */
export const accountsEnvironment = {
  /** How long an access token is accepted after it is issued. */
  TOKEN_TTL_SECONDS: z.coerce.number().int().min(60).max(86_400).default(3600),
};
