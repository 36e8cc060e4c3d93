import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HttpError } from '@mercado/service-kit';
import { describe, expect, it } from 'vitest';
import { apolloOptionsOf, composeGatewayPlugins, type GatewayPlugin } from './plugin.ts';

/** Runs one real HTTP request through the composed plugins; `handler` answers what none took. */
async function through(plugins: GatewayPlugin[], path = '/graphql') {
  const door = composeGatewayPlugins(plugins);
  const server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    if (await door.onRequest(req, res)) return;
    res.writeHead(200).end('handler');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}${path}`);
    return { status: res.status, body: await res.text() };
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
}

describe('gateway plugins', () => {
  it('meet a request in list order, and the first that answers it ends the run', async () => {
    const seen: string[] = [];
    const watcher = (name: string): GatewayPlugin => ({ name, onRequest: () => (seen.push(name), false) });
    const admin: GatewayPlugin = {
      name: 'admin',
      onRequest: (req, res) => {
        seen.push('admin');
        if (!req.url?.startsWith('/admin')) return false;
        res.writeHead(403).end('admin');
        return true;
      },
    };
    expect(await through([watcher('first'), admin, watcher('last')], '/admin/queues')).toEqual({ status: 403, body: 'admin' });
    expect(seen).toEqual(['first', 'admin']);
    seen.length = 0;
    expect(await through([watcher('first'), admin, watcher('last')])).toEqual({ status: 200, body: 'handler' });
    expect(seen).toEqual(['first', 'admin', 'last']);
  });

  it('refuse a GraphQL request by throwing, in order, before the ones after them run', async () => {
    const seen: string[] = [];
    const door = composeGatewayPlugins([
      { name: 'a', onGraphQLRequest: () => void seen.push('a') },
      { name: 'trusted', onGraphQLRequest: () => { seen.push('trusted'); throw new HttpError(400, 'OPERATION_NOT_ALLOWED', 'no'); } },
      { name: 'c', onGraphQLRequest: () => void seen.push('c') },
    ]);
    await expect(door.onGraphQLRequest({ method: 'POST', search: '', body: {} })).rejects.toMatchObject({ code: 'OPERATION_NOT_ALLOWED' });
    expect(seen).toEqual(['a', 'trusted']);
  });

  it('give Apollo their operation hooks, rules and parse options, and close last first even when one fails', async () => {
    const rule = () => ({});
    const options = apolloOptionsOf([
      { name: 'observed', apollo: {} },
      { name: 'limits', validationRules: [rule], parseOptions: { maxTokens: 10 } },
    ]);
    expect(options).toEqual({ plugins: [{}], validationRules: [rule], parseOptions: { maxTokens: 10 } });

    const closed: string[] = [];
    const door = composeGatewayPlugins([
      { name: 'first', close: async () => void closed.push('first') },
      { name: 'broken', close: async () => { closed.push('broken'); throw new Error('redis gone'); } },
      { name: 'last', close: async () => void closed.push('last') },
    ]);
    await expect(door.close()).rejects.toThrow(/1 gateway plugin\(s\) failed to close/);
    expect(closed).toEqual(['last', 'broken', 'first']);
  });
});
