import { decodeJwt, decodeProtectedHeader } from 'jose';
import { describe, expect, it } from 'vitest';
import { signInternalContext, verifyInternalContext } from '@mercado/service-kit';
import { internalTokenSigner } from './internalToken.ts';

const secret = 'internal-token-test-secret-of-32-characters';
const sign = internalTokenSigner(secret);

describe('the internal token signer', () => {
  it('makes tokens the subgraphs verify, for a signed-in user and for an anonymous caller', async () => {
    const viewer = { id: 'c0ffee00-0000-4000-8000-000000000001', role: 'admin' as const };
    expect(await verifyInternalContext(sign({ viewer, requestId: 'req-1' }), secret)).toEqual({ viewer, requestId: 'req-1' });
    expect(await verifyInternalContext(sign({ viewer: null, requestId: 'req-2' }), secret)).toEqual({ viewer: null, requestId: 'req-2' });
  });

  it("writes the same header and claims as service-kit's signInternalContext", async () => {
    const context = { viewer: { id: 'u-1', role: 'customer' as const }, requestId: 'req-3' };
    const ours = sign(context);
    const reference = await signInternalContext(context, secret);
    expect(decodeProtectedHeader(ours)).toEqual(decodeProtectedHeader(reference));
    const claims = decodeJwt(ours);
    const expected = decodeJwt(reference);
    expect(Object.keys(claims)).toEqual(Object.keys(expected));
    expect({ ...claims, iat: 0, exp: claims.exp! - claims.iat! }).toEqual({ ...expected, iat: 0, exp: expected.exp! - expected.iat! });
    expect(Math.abs(claims.iat! - expected.iat!)).toBeLessThanOrEqual(1);
  });

  it('makes tokens that another secret does not verify', async () => {
    await expect(verifyInternalContext(sign({ viewer: null, requestId: 'r' }), `${secret}-other`)).rejects.toThrow();
  });
});
