import { randomBytes } from 'node:crypto';
import { SignJWT } from 'jose';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { INTERNAL_IDENTITY, internalTokenSigner, signInternalContext, verifyInternalContext } from './internalContext.ts';

const secret = randomBytes(32).toString('hex');
const viewer = { id: '00000000-0000-4000-8000-000000000001', role: 'admin' as const };
const now = () => Math.floor(Date.now() / 1000);

/** A token made by hand, to try what the gateway's signer never makes. */
function forge(claims: { iat?: number; exp?: number; role?: string }) {
  const jwt = new SignJWT(claims.role ? { role: claims.role } : {})
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(viewer.id)
    .setIssuer(INTERNAL_IDENTITY.issuer)
    .setAudience(INTERNAL_IDENTITY.audience);
  if (claims.iat !== undefined) jwt.setIssuedAt(claims.iat);
  if (claims.exp !== undefined) jwt.setExpirationTime(claims.exp);
  return jwt.sign(new TextEncoder().encode(secret));
}

describe('internal context', () => {
  it('round-trips the viewer and request id', async () => {
    const token = await signInternalContext({ viewer, requestId: 'r-1' }, secret);
    expect(await verifyInternalContext(token, secret)).toEqual({ viewer, requestId: 'r-1' });
    expect(await verifyInternalContext(internalTokenSigner(secret)({ viewer, requestId: 'r-1' }), secret)).toEqual({ viewer, requestId: 'r-1' });
  });

  it('carries an anonymous request as a null viewer', async () => {
    const token = await signInternalContext({ viewer: null, requestId: 'r-2' }, secret);
    expect(await verifyInternalContext(token, secret)).toEqual({ viewer: null, requestId: 'r-2' });
  });

  it('signs for the protocol lifetime, HS256, issuer and audience from one place', async () => {
    const [header, payload] = internalTokenSigner(secret)({ viewer, requestId: 'r' }).split('.').slice(0, 2).map((part) => JSON.parse(Buffer.from(part!, 'base64url').toString()));
    expect(header).toEqual({ alg: INTERNAL_IDENTITY.algorithm });
    expect(payload).toMatchObject({ iss: INTERNAL_IDENTITY.issuer, aud: INTERNAL_IDENTITY.audience, sub: viewer.id, role: 'admin' });
    expect(payload.exp - payload.iat).toBe(INTERNAL_IDENTITY.ttlSeconds);
  });

  it('refuses a missing token, another secret, and an expired token', async () => {
    await expect(verifyInternalContext(undefined, secret)).rejects.toThrow(/missing/);
    const other = await signInternalContext({ viewer, requestId: 'r' }, `${secret}-other`);
    await expect(verifyInternalContext(other, secret)).rejects.toThrow();
    await expect(verifyInternalContext(await forge({ iat: now() - 20, exp: now() - 10, role: 'admin' }), secret)).rejects.toThrow(/exp/);
  });

  it('requires exp and iat, and refuses tokens older or longer-lived than the protocol allows', async () => {
    await expect(verifyInternalContext(await forge({ iat: now(), role: 'admin' }), secret)).rejects.toThrow(/"exp" claim/);
    await expect(verifyInternalContext(await forge({ exp: now() + 60, role: 'admin' }), secret)).rejects.toThrow(/"iat" claim/);
    await expect(verifyInternalContext(await forge({ iat: now() - 3600, exp: now() + 3600, role: 'admin' }), secret)).rejects.toThrow(/"iat"/);
    await expect(verifyInternalContext(await forge({ iat: now(), exp: now() + 365 * 86400, role: 'admin' }), secret)).rejects.toThrow(/longer than the protocol/);
  });

  it('drops a role it does not know instead of trusting it', async () => {
    const token = await forge({ iat: now(), exp: now() + 60, role: 'root' });
    expect((await verifyInternalContext(token, secret)).viewer).toBeNull();
  });

  describe('a token verified before', () => {
    afterEach(() => void vi.useRealTimers());

    it('is taken again until it expires, then refused like any expired token', async () => {
      vi.useFakeTimers({ toFake: ['Date'] });
      const token = internalTokenSigner(secret)({ viewer, requestId: 'r-3' });
      expect(await verifyInternalContext(token, secret)).toEqual({ viewer, requestId: 'r-3' });
      vi.setSystemTime(Date.now() + (INTERNAL_IDENTITY.ttlSeconds - 5) * 1000);
      expect(await verifyInternalContext(token, secret)).toEqual({ viewer, requestId: 'r-3' });
      vi.setSystemTime(Date.now() + 10_000);
      await expect(verifyInternalContext(token, secret)).rejects.toThrow(/exp/);
    });

    it('is not taken with another secret, and what a caller changes in its answer stays its own', async () => {
      const token = internalTokenSigner(secret)({ viewer, requestId: 'r-4' });
      const first = await verifyInternalContext(token, secret);
      first.clientAddress = '10.0.0.1';
      first.viewer!.role = 'customer';
      expect(await verifyInternalContext(token, secret)).toEqual({ viewer, requestId: 'r-4' });
      await expect(verifyInternalContext(token, `${secret}-other`)).rejects.toThrow();
    });
  });
});
