import { jwtVerify, SignJWT } from 'jose';

/**
 * The identity the gateway forwards to subgraphs, signed with a secret the two share, so a
 * subgraph trusts only what came through the gateway. Short-lived: a captured header is
 * useless a minute later.
 */
export interface Viewer {
  id: string;
  role: 'customer' | 'admin';
}

export interface InternalContext {
  viewer: Viewer | null;
  requestId: string;
}

export const INTERNAL_CONTEXT_HEADER = 'x-mercado-context';
const ISSUER = 'mercado-gateway';
const AUDIENCE = 'mercado-subgraphs';
const TTL_SECONDS = 60;

const keyCache = new Map<string, Uint8Array>();
function key(secret: string): Uint8Array {
  let k = keyCache.get(secret);
  if (!k) keyCache.set(secret, (k = new TextEncoder().encode(secret)));
  return k;
}

export async function signInternalContext(context: InternalContext, secret: string): Promise<string> {
  return new SignJWT({ rid: context.requestId, ...(context.viewer ? { role: context.viewer.role } : {}) })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(context.viewer?.id ?? '')
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setIssuedAt()
    .setExpirationTime(`${TTL_SECONDS}s`)
    .sign(key(secret));
}

/** Throws when the token is missing, forged, expired or malformed. */
export async function verifyInternalContext(token: string | undefined, secret: string): Promise<InternalContext> {
  if (!token) throw new Error('missing internal context');
  const { payload } = await jwtVerify(token, key(secret), {
    issuer: ISSUER,
    audience: AUDIENCE,
    algorithms: ['HS256'],
  });
  const role = payload.role;
  const viewer: Viewer | null =
    payload.sub && (role === 'customer' || role === 'admin') ? { id: payload.sub, role } : null;
  return { viewer, requestId: typeof payload.rid === 'string' ? payload.rid : '' };
}
