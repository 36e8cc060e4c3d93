import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { signInternalContext, verifyInternalContext } from './internalContext.ts';

const secret = 'a-secret-that-is-at-least-32-characters-long';
const viewer = { id: '00000000-0000-4000-8000-000000000001', role: 'admin' as const };

describe('internal context', () => {
  it('round-trips the viewer and request id', async () => {
    const token = await signInternalContext({ viewer, requestId: 'r-1' }, secret);
    expect(await verifyInternalContext(token, secret)).toEqual({ viewer, requestId: 'r-1' });
  });

  it('carries an anonymous request as a null viewer', async () => {
    const token = await signInternalContext({ viewer: null, requestId: 'r-2' }, secret);
    expect(await verifyInternalContext(token, secret)).toEqual({ viewer: null, requestId: 'r-2' });
  });

  it('refuses a missing token, another secret, and an expired token', async () => {
    await expect(verifyInternalContext(undefined, secret)).rejects.toThrow(/missing/);
    const other = await signInternalContext({ viewer, requestId: 'r' }, `${secret}-other`);
    await expect(verifyInternalContext(other, secret)).rejects.toThrow();
    const expired = await new SignJWT({ role: 'admin' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(viewer.id)
      .setIssuer('mercado-gateway')
      .setAudience('mercado-subgraphs')
      .setExpirationTime(Math.floor(Date.now() / 1000) - 10)
      .sign(new TextEncoder().encode(secret));
    await expect(verifyInternalContext(expired, secret)).rejects.toThrow(/exp/);
  });

  it('drops a role it does not know instead of trusting it', async () => {
    const token = await new SignJWT({ role: 'root' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(viewer.id)
      .setIssuer('mercado-gateway')
      .setAudience('mercado-subgraphs')
      .setExpirationTime('1m')
      .sign(new TextEncoder().encode(secret));
    expect((await verifyInternalContext(token, secret)).viewer).toBeNull();
  });
});
