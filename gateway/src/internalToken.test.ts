import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { verifyInternalContext } from '@mercado/service-kit';
import { internalTokenSigner, sharedInternalTokens } from './internalToken.ts';

const secret = randomBytes(32).toString('hex');
const sign = internalTokenSigner(secret);

describe('the internal token signer', () => {
  it('makes tokens the subgraphs verify, for a signed-in user and for an anonymous caller', async () => {
    const viewer = { id: 'c0ffee00-0000-4000-8000-000000000001', role: 'admin' as const };
    expect(await verifyInternalContext(sign({ viewer, requestId: 'req-1' }), secret)).toEqual({ viewer, requestId: 'req-1' });
    expect(await verifyInternalContext(sign({ viewer: null, requestId: 'req-2' }), secret)).toEqual({ viewer: null, requestId: 'req-2' });
  });

  it('shares one token per identity', async () => {
    const shared = sharedInternalTokens(secret);
    const viewer = { id: 'c0ffee00-0000-4000-8000-000000000002', role: 'customer' as const };
    expect(shared(viewer)).toBe(shared(viewer));
    expect(shared(null)).not.toBe(shared(viewer));
    expect(await verifyInternalContext(shared(viewer), secret)).toEqual({ viewer, requestId: '' });
  });

  it('makes tokens that another secret does not verify', async () => {
    await expect(verifyInternalContext(sign({ viewer: null, requestId: 'r' }), `${secret}-other`)).rejects.toThrow();
  });
});
