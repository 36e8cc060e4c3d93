import { createRemoteJWKSet, errors, jwtVerify, type JWTVerifyGetKey } from 'jose';
import { HttpError, sessionStart, type Viewer } from '@mercado/service-kit';

export interface AuthenticationOptions {
  jwksUrl: string;
  issuer: string;
  audience: string;
  /** Sign-outs and password changes (sessionRevocation.ts); omitted: tokens live until they expire. */
  isRevoked?: (userId: string, sessionStartedAtMs: number) => Promise<boolean>;
}

const invalid = (message: string) =>
  new HttpError(401, 'UNAUTHENTICATED', message, { 'www-authenticate': 'Bearer error="invalid_token"' });

/**
 * Verifies `Authorization: Bearer <jwt>` against the accounts service's JWKS (fetched once,
 * cached, refetched when a token names an unknown key). No header means an anonymous request;
 * a header that does not verify is refused outright rather than silently treated as anonymous.
 */
export function createAuthenticator(opts: AuthenticationOptions) {
  const keys: JWTVerifyGetKey = createRemoteJWKSet(new URL(opts.jwksUrl), {
    cooldownDuration: 30_000,
    cacheMaxAge: 10 * 60_000,
    timeoutDuration: 5_000,
  });

  return async function authenticate(authorization: string | undefined): Promise<Viewer | null> {
    if (!authorization) return null;
    const match = /^Bearer\s+([A-Za-z0-9._~+/-]+=*)$/i.exec(authorization.trim());
    if (!match) throw invalid('The Authorization header must be "Bearer <token>"');
    try {
      const { payload } = await jwtVerify(match[1]!, keys, {
        issuer: opts.issuer,
        audience: opts.audience,
        algorithms: ['ES256'],
      });
      const role = payload.role;
      if (!payload.sub || (role !== 'customer' && role !== 'admin')) throw invalid('The token does not name a user and role');
      if (await opts.isRevoked?.(payload.sub.toLowerCase(), sessionStart(payload))) throw invalid('The token was revoked (signed out or password changed); sign in again');
      return { id: payload.sub, role };
    } catch (error) {
      if (error instanceof HttpError) throw error;
      if (error instanceof errors.JWTExpired) throw invalid('The token has expired; sign in again');
      if (error instanceof errors.JWKSTimeout || (error instanceof TypeError && /fetch/i.test(error.message))) {
        throw new HttpError(503, 'SERVICE_UNAVAILABLE', 'Tokens cannot be verified right now; try again shortly', { 'retry-after': '5' });
      }
      throw invalid('The token is invalid');
    }
  };
}
