import * as z from 'zod';

/** The accounts service's own variables (every service's common ones come from service-kit). */
export const accountsEnvironment = {
  /** How long an access token is accepted after it is issued. */
  TOKEN_TTL_SECONDS: z.coerce.number().int().min(60).max(86_400).default(3600),
  /** Where sign-in attempts are counted, shared by every replica; unset: in this process only. */
  REDIS_URL: z.string().url().optional(),
  /** Redis key prefix of those counts; default `<EVENTS_PREFIX>:accounts:sign-in`. */
  SIGN_IN_THROTTLE_PREFIX: z.string().min(1).optional(),
  EVENTS_PREFIX: z.string().regex(/^[a-z0-9-]+$/).default('mercado'),
  /** The stack's Redis prefix, as the gateway's: revoked sessions are kept under `<SAGA_PREFIX>:sessions:`. */
  SAGA_PREFIX: z.string().regex(/^[a-z0-9-]+$/).default('mercado'),
  /** Consecutive failed sign-ins from one address for one account before it is locked out of it. */
  SIGN_IN_MAX_CONSECUTIVE_FAILURES: z.coerce.number().int().positive().default(5),
  /** How long that lock lasts. */
  SIGN_IN_LOCK_SECONDS: z.coerce.number().int().positive().default(300),
  /** Failed sign-ins (and registrations of a taken email) one address may make in a day. */
  SIGN_IN_MAX_FAILURES_PER_ADDRESS_PER_DAY: z.coerce.number().int().positive().default(100),
  /** Failed sign-ins for one account from every address in an hour before a 15-minute lock. */
  SIGN_IN_MAX_FAILURES_PER_ACCOUNT_PER_HOUR: z.coerce.number().int().positive().default(50),
};
