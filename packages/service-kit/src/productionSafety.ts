/**
 * The INTERNAL_TOKEN_SECRET every service fell back to before each installation generated its
 * own: it is in this repository's history, hence public. Kept only to be refused.
 */
export const developmentInternalTokenSecret = 'mercado-development-internal-secret-change-me';

/**
 * Throws when a process would run with the public secret, in production or not: anyone who has
 * read this repository could then sign `x-mercado-context` headers and call the services as any
 * user (and a web page could, through DNS rebinding, against a developer's machine).
 */
export function assertProductionSecret(production: boolean, internalTokenSecret: string): void {
  if (internalTokenSecret === developmentInternalTokenSecret) {
    throw new Error(
      `INTERNAL_TOKEN_SECRET is the old development default, which is public: ${production ? 'set a random secret of at least 32 characters (the same for the gateway and every service) before running with NODE_ENV=production' : 'delete it from your environment; npm start generates a random one per installation (.mercado/secrets.env)'}`,
    );
  }
}
