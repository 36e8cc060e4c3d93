import { fileURLToPath } from 'node:url';
import type { ServiceModule } from '@mercado/service-kit';
import { createDb, type Db } from './db.ts';
import { accountsEvents } from './events/index.ts';
import { JWKS_PATH, TOKEN_AUDIENCE, TOKEN_ISSUER } from './domain/tokens.ts';
import { INVALID_CREDENTIALS } from './domain/users.ts';
import { seed } from './seed.ts';
import { startAccounts } from './service.ts';

export { createDb, type Db, seed, startAccounts, JWKS_PATH, TOKEN_AUDIENCE, TOKEN_ISSUER, INVALID_CREDENTIALS };

export const accountsService: ServiceModule<Db> = {
  name: 'accounts',
  defaultPort: 4001,
  migrationsDir: fileURLToPath(new URL('../../../prisma/accounts/migrations', import.meta.url)),
  createDb,
  seed: async (db) => `${await seed(db)} users`,
  start: async (db, runtime) => {
    // Read on start, not on import: the gateway imports this module for the token constants
    // and must not parse the accounts' environment.
    const { environment } = await import('./environment.ts');
    return startAccounts(db, runtime, { tokenTtlSeconds: environment.TOKEN_TTL_SECONDS });
  },
  events: accountsEvents,
};
