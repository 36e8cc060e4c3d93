import { commonEnvironment } from './environment.ts';

/** The INTERNAL_TOKEN_SECRET every service falls back to when none is set: public, in this repository. */
export const developmentInternalTokenSecret: string = commonEnvironment.INTERNAL_TOKEN_SECRET.parse(undefined);

/**
 * Throws when production would run with the development secret: anyone who has read this
 * repository could then sign `x-mercado-context` headers and call the subgraphs as any user.
 */
export function assertProductionSecret(production: boolean, internalTokenSecret: string): void {
  if (production && internalTokenSecret === developmentInternalTokenSecret) {
    throw new Error(
      'INTERNAL_TOKEN_SECRET is the development default, which is public: set a random secret of at least 32 characters (the same for the gateway and every subgraph) before running with NODE_ENV=production',
    );
  }
}
