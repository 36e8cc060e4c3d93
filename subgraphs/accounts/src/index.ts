import { fileURLToPath } from 'node:url';
import { defineService } from '@mercado/service-kit';
import { createDb, type Db } from './db.ts';
import { accountsEnvironment } from './environment.ts';
import { accountsEvents } from './events/index.ts';
import { JWKS_PATH, TOKEN_AUDIENCE, TOKEN_ISSUER } from './domain/tokens.ts';
import { INVALID_CREDENTIALS } from './domain/users.ts';
import { seed } from './seed.ts';
import { startAccounts } from './service.ts';

export { createDb, type Db, seed, startAccounts, JWKS_PATH, TOKEN_AUDIENCE, TOKEN_ISSUER, INVALID_CREDENTIALS };

export const accountsService = defineService({
  name: 'accounts',
  environment: accountsEnvironment,
  migrationsDir: fileURLToPath(new URL('../../../prisma/accounts/migrations', import.meta.url)),
  createDb,
  seed: async (db: Db) => `${await seed(db)} users`,
  start: (db, runtime, settings) =>
    startAccounts(db, runtime, {
      tokenTtlSeconds: settings.TOKEN_TTL_SECONDS,
      signInThrottle: {
        redisUrl: settings.REDIS_URL,
        keyPrefix: settings.SIGN_IN_THROTTLE_PREFIX ?? (settings.REDIS_URL ? `${settings.EVENTS_PREFIX}:accounts:sign-in` : undefined),
        limits: {
          consecutivePerAccountAndAddress: settings.SIGN_IN_MAX_CONSECUTIVE_FAILURES,
          lockSeconds: settings.SIGN_IN_LOCK_SECONDS,
          perAddressPerDay: settings.SIGN_IN_MAX_FAILURES_PER_ADDRESS_PER_DAY,
          perAccountPerHour: settings.SIGN_IN_MAX_FAILURES_PER_ACCOUNT_PER_HOUR,
        },
      },
    }),
  events: accountsEvents,
});
