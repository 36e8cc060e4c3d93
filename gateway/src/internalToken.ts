import { createHmac } from 'node:crypto';
import type { InternalContext, Viewer } from '@mercado/service-kit';

/** The same claims, lifetime and algorithm as service-kit's `signInternalContext`. */
const ISSUER = 'mercado-gateway';
const AUDIENCE = 'mercado-subgraphs';
const TTL_SECONDS = 60;
const HEADER = Buffer.from(JSON.stringify({ alg: 'HS256' })).toString('base64url');

/**
 * Signs the identity header the gateway sends with every subgraph fetch: the very token
 * `signInternalContext` makes (HS256 JWT, same claims in the same order, 60 s), which the
 * subgraphs verify as before, but signed synchronously with node:crypto. jose signs through
 * WebCrypto, asynchronously, which costs more than the rest of a small request.
 */
export function internalTokenSigner(secret: string): (context: InternalContext) => string {
  return ({ viewer, requestId }) => {
    const issuedAt = Math.floor(Date.now() / 1000);
    const payload = {
      ...(requestId ? { rid: requestId } : {}),
      ...(viewer ? { role: viewer.role } : {}),
      sub: viewer?.id ?? '',
      iss: ISSUER,
      aud: AUDIENCE,
      iat: issuedAt,
      exp: issuedAt + TTL_SECONDS,
    };
    const signingInput = `${HEADER}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}`;
    return `${signingInput}.${createHmac('sha256', secret).update(signingInput).digest('base64url')}`;
  };
}

/**
 * The identity tokens of a gateway that shares subgraph fetches between client requests: one
 * token per identity (user and role, or anonymous), reused for `reuseMs` of its 60 s life, so that
 * identical fetches made for the same identity carry identical headers. These tokens name no
 * request (the request id travels in its own header); re-signing before half the lifetime has
 * passed leaves every fetch well within it.
 */
export function sharedInternalTokens(secret: string, reuseMs = 30_000): (viewer: Viewer | null) => string {
  const sign = internalTokenSigner(secret);
  const tokens = new Map<string, { token: string; until: number }>();
  return (viewer) => {
    const now = Date.now();
    const identity = viewer ? `${viewer.role}:${viewer.id}` : '';
    const cached = tokens.get(identity);
    if (cached && cached.until > now) return cached.token;
    // Identities seen once stay until the map is this large; then it starts over.
    if (tokens.size >= 10_000) tokens.clear();
    const token = sign({ viewer, requestId: '' });
    tokens.set(identity, { token, until: now + reuseMs });
    return token;
  };
}
