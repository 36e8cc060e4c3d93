/**
 * The INTERNAL_TOKEN_SECRET every service fell back to before each installation generated its
 * own: it is in this repository's history, hence public.
 */
export const developmentInternalTokenSecret = 'mercado-development-internal-secret-change-me';

/**
 * Throws when production would run with a public secret: anyone who has read this repository
 * could then sign `x-mercado-context` headers and call the services as any user.
 */
export function assertProductionSecret(production: boolean, internalTokenSecret: string): void {
  if (production && internalTokenSecret === developmentInternalTokenSecret) {
    throw new Error(
      'INTERNAL_TOKEN_SECRET is the old development default, which is public: set a random secret of at least 32 characters (the same for the gateway and every service) before running with NODE_ENV=production',
    );
  }
}
