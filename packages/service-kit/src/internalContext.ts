import { createHmac } from 'node:crypto';
import { jwtVerify } from 'jose';

/**
 * The internal identity protocol, in one place: the identity the gateway forwards to the
 * subgraphs, signed with a secret the two share (INTERNAL_TOKEN_SECRET), so a subgraph trusts
 * only what came through the gateway. The gateway signs with `internalTokenSigner`, the
 * subgraphs verify with `verifyInternalContext`; both read the constants below and nothing else.
 */
export interface Viewer {
  id: string;
  role: 'customer' | 'admin';
}

export interface InternalContext {
  viewer: Viewer | null;
  requestId: string;
  /** The client's address as the gateway saw it (for sign-in throttling); '' when not forwarded. */
  clientAddress?: string;
}

export const INTERNAL_IDENTITY = {
  /** The header carrying the signed token (an HS256 JWT). */
  header: 'x-mercado-context',
  /** When tokens are shared between requests, the request id travels in its own header. */
  requestIdHeader: 'x-request-id',
  /** The client's address, sent with mutations (login and register are throttled by it). */
  clientAddressHeader: 'x-mercado-client-address',
  issuer: 'mercado-gateway',
  audience: 'mercado-subgraphs',
  algorithm: 'HS256',
  /** How long a token is valid (`exp - iat`). */
  ttlSeconds: 60,
  /**
   * The oldest `iat` a subgraph accepts, whatever `exp` says: a token signed for longer than the
   * protocol allows (a leaked secret's forgeries, a bug) is refused. The margin is clock skew.
   */
  maxAgeSeconds: 90,
} as const;

export const INTERNAL_CONTEXT_HEADER = INTERNAL_IDENTITY.header;

const JWT_HEADER = Buffer.from(JSON.stringify({ alg: INTERNAL_IDENTITY.algorithm })).toString('base64url');

/**
 * Signs identity tokens synchronously with node:crypto (jose signs through WebCrypto,
 * asynchronously, which costs more than the rest of a small request at the gateway).
 */
export function internalTokenSigner(secret: string): (context: InternalContext) => string {
  return ({ viewer, requestId }) => {
    const issuedAt = Math.floor(Date.now() / 1000);
    const payload = {
      ...(requestId ? { rid: requestId } : {}),
      ...(viewer ? { role: viewer.role } : {}),
      sub: viewer?.id ?? '',
      iss: INTERNAL_IDENTITY.issuer,
      aud: INTERNAL_IDENTITY.audience,
      iat: issuedAt,
      exp: issuedAt + INTERNAL_IDENTITY.ttlSeconds,
    };
    const signingInput = `${JWT_HEADER}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}`;
    return `${signingInput}.${createHmac('sha256', secret).update(signingInput).digest('base64url')}`;
  };
}

const signers = new Map<string, (context: InternalContext) => string>();

/** One token for one context (tests, and callers that sign rarely). */
export async function signInternalContext(context: InternalContext, secret: string): Promise<string> {
  let sign = signers.get(secret);
  if (!sign) signers.set(secret, (sign = internalTokenSigner(secret)));
  return sign(context);
}

const keyCache = new Map<string, Uint8Array>();
function key(secret: string): Uint8Array {
  let k = keyCache.get(secret);
  if (!k) keyCache.set(secret, (k = new TextEncoder().encode(secret)));
  return k;
}

/** What a token said, once verified: the claims that depend on the clock are checked again at each use. */
interface VerifiedToken {
  context: InternalContext;
  exp: number;
  iat: number;
  nbf: number | undefined;
}

/**
 * Tokens already verified, by their exact string, per secret, until they expire: the gateway
 * shares one token per identity for half its life (sharedInternalTokens), so a subgraph sees the
 * same few strings over and over, and verifying each (jose, WebCrypto, asynchronous) was about 7%
 * of a subgraph's CPU. Safe because everything verification proves about a string (signature,
 * algorithm, issuer, audience, lifetime) is a property of that string and the secret alone; what
 * depends on the time (exp, iat's age, nbf) is checked again on every hit. Only tokens that
 * verified are kept, so a forgery costs a full verification each time, as before; the map is
 * bounded (oldest first out) so no sender can grow it.
 */
const verifiedTokens = new Map<string, Map<string, VerifiedToken>>();
const MAX_VERIFIED_TOKENS = 1_000;

function stillValid(entry: VerifiedToken, now: number): boolean {
  return entry.exp > now && now - entry.iat <= INTERNAL_IDENTITY.maxAgeSeconds && entry.iat <= now && (entry.nbf === undefined || entry.nbf <= now);
}

/** Throws when the token is missing, forged, expired, too old, without `exp`/`iat`, or malformed. */
export async function verifyInternalContext(token: string | undefined, secret: string): Promise<InternalContext> {
  if (!token) throw new Error('missing internal context');
  let cache = verifiedTokens.get(secret);
  if (!cache) verifiedTokens.set(secret, (cache = new Map()));
  const cached = cache.get(token);
  if (cached) {
    if (stillValid(cached, Math.floor(Date.now() / 1000))) return { ...cached.context, viewer: cached.context.viewer && { ...cached.context.viewer } };
    cache.delete(token);
  }
  const { payload } = await jwtVerify(token, key(secret), {
    issuer: INTERNAL_IDENTITY.issuer,
    audience: INTERNAL_IDENTITY.audience,
    algorithms: [INTERNAL_IDENTITY.algorithm],
    requiredClaims: ['exp', 'iat'],
    maxTokenAge: INTERNAL_IDENTITY.maxAgeSeconds,
  });
  if (payload.exp! - payload.iat! > INTERNAL_IDENTITY.maxAgeSeconds) throw new Error('internal context lives longer than the protocol allows');
  const role = payload.role;
  const viewer: Viewer | null =
    payload.sub && (role === 'customer' || role === 'admin') ? { id: payload.sub, role } : null;
  const context: InternalContext = { viewer, requestId: typeof payload.rid === 'string' ? payload.rid : '' };
  if (cache.size >= MAX_VERIFIED_TOKENS) cache.delete(cache.keys().next().value!);
  cache.set(token, { context: { ...context, viewer: viewer && { ...viewer } }, exp: payload.exp!, iat: payload.iat!, nbf: payload.nbf });
  return context;
}
