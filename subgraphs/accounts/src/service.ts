import { loadSchemaFile, startSubgraph, type SubgraphRuntime } from '@mercado/service-kit';
import { createContext } from './context.ts';
import type { Db } from './db.ts';
import { decoyHash } from './domain/passwords.ts';
import { loadSigningKey } from './domain/signingKeys.ts';
import { createTokenIssuer, DEFAULT_TOKEN_TTL_SECONDS, JWKS_PATH } from './domain/tokens.ts';
import { createSignInThrottle, type SignInThrottleLimits } from './domain/signInThrottle.ts';
import { jwksRoute } from './jwks.ts';
import { resolvers } from './resolvers/index.ts';

export const typeDefs = loadSchemaFile(new URL('../schema.graphql', import.meta.url));

export interface AccountsOptions {
  /** Lifetime of issued tokens; one hour unless set. */
  tokenTtlSeconds?: number;
  /** Sign-in throttling: where to count (the runtime's saga Redis unless set) and how much. */
  signInThrottle?: { redisUrl?: string; keyPrefix?: string; limits?: Partial<SignInThrottleLimits> };
}

/** Starts the accounts subgraph on an open database; used by main.ts and by tests. */
export async function startAccounts(db: Db, runtime: SubgraphRuntime, options: AccountsOptions = {}) {
  const tokens = createTokenIssuer(await loadSigningKey(db), options.tokenTtlSeconds ?? DEFAULT_TOKEN_TTL_SECONDS);
  // Computed now, so the first login with an unknown email is not the one slow answer.
  await decoyHash();
  const throttle = options.signInThrottle ?? {};
  const signInThrottle = await createSignInThrottle({
    redisUrl: throttle.redisUrl ?? runtime.saga?.redisUrl,
    keyPrefix: throttle.keyPrefix ?? `${runtime.saga?.prefix ?? 'mercado'}:accounts:sign-in`,
    limits: throttle.limits,
    logger: runtime.logger,
  });
  const service = await startSubgraph(
    {
      name: 'accounts',
      typeDefs,
      resolvers,
      context: (internal) => createContext(db, internal, tokens, signInThrottle),
      routes: { [`GET ${JWKS_PATH}`]: jwksRoute(db) },
    },
    runtime,
  );
  return {
    ...service,
    close: async (graceMs?: number) => {
      await service.close(graceMs);
      await signInThrottle.close();
    },
  };
}
