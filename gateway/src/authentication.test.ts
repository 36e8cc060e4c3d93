import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { HttpError } from '@mercado/service-kit';
import { createAuthenticator } from './authentication.ts';

let server: Server;
let jwksUrl: string;
let jwksFetches = 0;
const issuer = 'mercado-accounts';
const audience = 'mercado';
const { privateKey, publicKey } = await generateKeyPair('ES256');

beforeAll(async () => {
  const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
  server = createServer((_req, res) => {
    jwksFetches++;
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ keys: [jwk] }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  jwksUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks`;
});
afterAll(() => new Promise((resolve) => server.close(resolve)));

const sign = (claims: Record<string, unknown>, exp: string | number = '5m') =>
  new SignJWT(claims).setProtectedHeader({ alg: 'ES256', kid: 'k1' }).setSubject('u-1').setIssuer(issuer).setAudience(audience).setExpirationTime(exp).sign(privateKey);

async function refusal(promise: Promise<unknown>): Promise<{ status: number; code: string; message: string }> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  if (!(error instanceof HttpError)) throw new Error(`expected an HttpError, got ${String(error)}`);
  return { status: error.status, code: error.code, message: error.message };
}

describe('gateway authentication', () => {
  it('treats a request without Authorization as anonymous', async () => {
    expect(await createAuthenticator({ jwksUrl, issuer, audience })(undefined)).toBeNull();
  });

  it('accepts a valid token and caches the key set', async () => {
    const authenticate = createAuthenticator({ jwksUrl, issuer, audience });
    const before = jwksFetches;
    for (let i = 0; i < 5; i++) expect(await authenticate(`Bearer ${await sign({ role: 'admin' })}`)).toEqual({ id: 'u-1', role: 'admin' });
    expect(jwksFetches - before).toBe(1);
  });

  it('refuses expired tokens, unknown roles and other schemes with 401', async () => {
    const authenticate = createAuthenticator({ jwksUrl, issuer, audience });
    expect(await refusal(authenticate(`Bearer ${await sign({ role: 'customer' }, Math.floor(Date.now() / 1000) - 5)}`))).toMatchObject({ status: 401, code: 'UNAUTHENTICATED', message: expect.stringMatching(/expired/) });
    expect(await refusal(authenticate(`Bearer ${await sign({ role: 'superuser' })}`))).toMatchObject({ status: 401 });
    expect(await refusal(authenticate('Token abc'))).toMatchObject({ status: 401, message: expect.stringMatching(/Bearer/) });
  });

  it('takes a token verified before until it expires, and asks about revocation every time', async () => {
    let revoked = false;
    let asked = 0;
    const authenticate = createAuthenticator({ jwksUrl, issuer, audience, isRevoked: async () => (asked++, revoked) });
    const token = await sign({ role: 'customer' }, Math.floor(Date.now() / 1000) + 30);
    for (let i = 0; i < 3; i++) expect(await authenticate(`Bearer ${token}`)).toEqual({ id: 'u-1', role: 'customer' });
    expect(asked).toBe(3);
    revoked = true;
    expect(await refusal(authenticate(`Bearer ${token}`))).toMatchObject({ status: 401, message: expect.stringMatching(/revoked/) });
    revoked = false;
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      vi.setSystemTime(Date.now() + 31_000);
      expect(await refusal(authenticate(`Bearer ${token}`))).toMatchObject({ status: 401, message: expect.stringMatching(/expired/) });
    } finally {
      vi.useRealTimers();
    }
  });

  it("runs the caller's own check (the rate limit) alongside the revocation check, only for a token that verifies", async () => {
    let answerRevocation!: (revoked: boolean) => void;
    const authenticate = createAuthenticator({ jwksUrl, issuer, audience, isRevoked: () => new Promise((resolve) => (answerRevocation = resolve)) });
    const alongside: string[] = [];
    const token = await sign({ role: 'customer' });
    const pending = authenticate(`Bearer ${token}`, async (viewer) => void alongside.push(viewer.id));
    await vi.waitFor(() => expect(answerRevocation).toBeTypeOf('function'));
    // Started before revocation has answered: both reads can leave in one write.
    expect(alongside).toEqual(['u-1']);
    answerRevocation(true);
    expect(await refusal(pending)).toMatchObject({ status: 401, message: expect.stringMatching(/revoked/) });

    // The caller's refusal is the request's, without waiting for revocation's answer.
    const limited = new HttpError(429, 'RATE_LIMITED', 'Too many requests');
    expect(await refusal(authenticate(`Bearer ${token}`, () => Promise.reject(limited)))).toMatchObject({ status: 429, code: 'RATE_LIMITED' });

    const forged = `${token.slice(0, -4)}AAAA`;
    expect(await refusal(authenticate(`Bearer ${forged}`, async () => void alongside.push('forged')))).toMatchObject({ status: 401 });
    expect(alongside).toEqual(['u-1']);
  });

  it('answers 503, not 401, when the key set cannot be fetched', async () => {
    const authenticate = createAuthenticator({ jwksUrl: 'http://127.0.0.1:9/jwks', issuer, audience });
    expect(await refusal(authenticate(`Bearer ${await sign({ role: 'customer' })}`))).toMatchObject({ status: 503, code: 'SERVICE_UNAVAILABLE' });
  });
});
