import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHostCheck, developmentPublicHosts, hostName } from './hostCheck.ts';

let development: Server;
let production: Server;
const serve = (hosts: readonly string[]) => {
  const check = createHostCheck(hosts);
  const server = createServer((req, res) => {
    if (check(req, res)) return;
    res.writeHead(200).end('served');
  });
  return new Promise<Server>((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
};

/** fetch() does not let a caller set Host; node:http does. */
function get(server: Server, host: string, path = '/graphql'): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: (server.address() as AddressInfo).port, path, headers: { host } }, (res) => {
      let body = '';
      res.on('data', (chunk) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

beforeAll(async () => {
  development = await serve(developmentPublicHosts);
  production = await serve(['api.mercado.example', '*.mercado.example']);
});
afterAll(() => {
  development.close();
  production.close();
});

describe('host check', () => {
  it('reads the name out of a Host header', () => {
    expect(hostName('LocalHost:4000')).toBe('localhost');
    expect(hostName('[::1]:4000')).toBe('[::1]');
    expect(hostName('evil.example:4000/x')).toBeUndefined();
    expect(hostName(undefined)).toBeUndefined();
  });

  it.each(['localhost:4000', '127.0.0.1:4000', '[::1]:4000', 'app.localhost:3000'])('serves %s in development', async (host) => {
    expect((await get(development, host)).status).toBe(200);
  });

  it.each(['rebind.evil.example:4000', '192.168.1.20:4000', 'localhost.evil.example', '127.0.0.1.nip.example'])('refuses "%s" in development (DNS rebinding)', async (host) => {
    const res = await get(development, host);
    expect(res.status).toBe(421);
    expect(JSON.parse(res.body).errors[0].extensions.code).toBe('HOST_NOT_ALLOWED');
  });

  it('serves the configured public names in production, and probes by address', async () => {
    expect((await get(production, 'api.mercado.example')).status).toBe(200);
    expect((await get(production, 'eu.mercado.example:443')).status).toBe(200);
    expect((await get(production, 'localhost:4000')).status).toBe(421);
    expect((await get(production, '10.0.0.7:4000', '/ready')).status).toBe(200);
  });

  it('checks nothing when no names are configured', async () => {
    const open = await serve([]);
    try {
      expect((await get(open, 'anything.example')).status).toBe(200);
    } finally {
      open.close();
    }
  });
});
