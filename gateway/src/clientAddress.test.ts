import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { clientAddressResolver } from './clientAddress.ts';

const request = (peer: string, forwardedFor?: string) =>
  ({ socket: { remoteAddress: peer }, headers: forwardedFor === undefined ? {} : { 'x-forwarded-for': forwardedFor } }) as unknown as IncomingMessage;

describe('client address', () => {
  it('is the peer, whatever X-Forwarded-For says, without trusted proxies', () => {
    const resolve = clientAddressResolver([]);
    expect(resolve(request('203.0.113.5', '198.51.100.1'))).toBe('203.0.113.5');
    expect(resolve(request('::ffff:203.0.113.5'))).toBe('203.0.113.5');
  });

  it('is the nearest untrusted hop behind trusted proxies', () => {
    const resolve = clientAddressResolver(['10.0.0.0/8', '192.0.2.7']);
    expect(resolve(request('10.1.2.3', '198.51.100.1, 192.0.2.7'))).toBe('198.51.100.1');
    // A client cannot choose its address by writing the header itself: the proxy appends the real one.
    expect(resolve(request('10.1.2.3', '1.2.3.4, 198.51.100.1'))).toBe('198.51.100.1');
    expect(resolve(request('10.1.2.3'))).toBe('10.1.2.3');
    expect(resolve(request('203.0.113.9', '198.51.100.1'))).toBe('203.0.113.9');
    expect(resolve(request('10.1.2.3', 'garbage, 198.51.100.1'))).toBe('198.51.100.1');
    expect(resolve(request('10.1.2.3', '198.51.100.1, garbage'))).toBe('10.1.2.3');
  });

  it('refuses a malformed configuration', () => {
    expect(() => clientAddressResolver(['not-an-address'])).toThrow(/TRUSTED_PROXIES/);
  });
});
