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

  /**
   * Tokens already verified, by their exact string: ES256 verification was 18% of the gateway's
   * CPU, and a client sends the same token with every request. What verification proves of a
   * string (signature, issuer, audience, algorithm, role) does not change; `exp` and `nbf` are
   * checked again on every hit and revocation is asked every time, as before. An entry lives at
   * most `verifiedForMs` (60 s): a key withdrawn from the key set stops being honoured at most that
   * much later than without the cache, which already keeps the key set for 10 minutes. Only
   * successes are kept; the map is bounded (oldest first out).
   */
  const verified = new Map<string, { viewer: Viewer; sessionStartedAtMs: number; exp: number | undefined; nbf: number | undefined; until: number }>();
  const verifiedForMs = 60_000;
  const maxVerified = 10_000;

  async function verify(token: string): Promise<{ viewer: Viewer; sessionStartedAtMs: number }> {
    const nowMs = Date.now();
    const now = Math.floor(nowMs / 1000);
    const hit = verified.get(token);
    if (hit) {
      if (hit.until > nowMs && (hit.exp === undefined || hit.exp > now) && (hit.nbf === undefined || hit.nbf <= now)) return hit;
      verified.delete(token);
    }
    const { payload } = await jwtVerify(token, keys, {
      issuer: opts.issuer,
      audience: opts.audience,
      algorithms: ['ES256'],
    });
    const role = payload.role;
    if (!payload.sub || (role !== 'customer' && role !== 'admin')) throw invalid('The token does not name a user and role');
    const entry = { viewer: { id: payload.sub, role } as Viewer, sessionStartedAtMs: sessionStart(payload), exp: payload.exp, nbf: payload.nbf, until: nowMs + verifiedForMs };
    if (verified.size >= maxVerified) verified.delete(verified.keys().next().value!);
    verified.set(token, entry);
    return entry;
  }

  /**
   * `alongside` runs with the viewer of a token that verified, at the same time as the revocation
   * check (the gateway counts the request against the user there: both are Redis reads, sent in
   * one write); its error is the request's, like a refusal here.
   */
  return async function authenticate(authorization: string | undefined, alongside?: (viewer: Viewer) => Promise<void>): Promise<Viewer | null> {
    if (!authorization) return null;
    const match = /^Bearer\s+([A-Za-z0-9._~+/-]+=*)$/i.exec(authorization.trim());
    if (!match) throw invalid('The Authorization header must be "Bearer <token>"');
    try {
      const { viewer, sessionStartedAtMs } = await verify(match[1]!);
      const [revoked] = await Promise.all([opts.isRevoked?.(viewer.id.toLowerCase(), sessionStartedAtMs), alongside?.(viewer)]);
      if (revoked) throw invalid('The token was revoked (signed out or password changed); sign in again');
      return { id: viewer.id, role: viewer.role };
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
