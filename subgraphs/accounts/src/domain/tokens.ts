import { SignJWT } from 'jose';
import { SESSION_START_CLAIM } from '@mercado/service-kit';
import { TOKEN_ALGORITHM, type SigningKey } from './signingKeys.ts';

/** `iss` of every access token. */
export const TOKEN_ISSUER = 'mercado-accounts';
/** `aud` of every access token. */
export const TOKEN_AUDIENCE = 'mercado';
/** Where accounts serves the public keys that verify its tokens (no gateway signature needed). */
export const JWKS_PATH = '/.well-known/jwks.json';
export const DEFAULT_TOKEN_TTL_SECONDS = 3600;

export interface IssuedToken {
  token: string;
  /** ISO 8601 time of the token's `exp`. */
  expiresAt: string;
}

export interface TokenIssuer {
  issue(user: { id: string; role: 'customer' | 'admin' }): Promise<IssuedToken>;
}

export function createTokenIssuer(key: SigningKey, ttlSeconds: number): TokenIssuer {
  return {
    async issue(user) {
      const issuedAt = Math.floor(Date.now() / 1000);
      const expiresAt = issuedAt + ttlSeconds;
      // When this sign-in happened (ms): signing out or changing the password revokes older ones.
      const token = await new SignJWT({ role: user.role, [SESSION_START_CLAIM]: Date.now() })
        .setProtectedHeader({ alg: TOKEN_ALGORITHM, kid: key.kid, typ: 'JWT' })
        .setSubject(user.id)
        .setIssuer(TOKEN_ISSUER)
        .setAudience(TOKEN_AUDIENCE)
        .setIssuedAt(issuedAt)
        .setExpirationTime(expiresAt)
        .sign(key.privateKey);
      return { token, expiresAt: new Date(expiresAt * 1000).toISOString() };
    },
  };
}
