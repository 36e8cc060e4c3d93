import { internalTokenSigner, type Viewer } from '@mercado/service-kit';

/** Signing is service-kit's (the internal identity protocol lives in one module there). */
export { internalTokenSigner };

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
