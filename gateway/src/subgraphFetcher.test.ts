import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { subgraphFetcher } from './subgraphFetcher.ts';

/** A subgraph stand-in that counts requests and answers after `delayMs`, echoing what it got. */
let server: Server;
let url: string;
const received: Array<{ body: string; headers: IncomingMessage['headers'] }> = [];
let delayMs = 50;

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      received.push({ body, headers: req.headers });
      setTimeout(() => {
        res.writeHead(200, { 'content-type': 'application/json', 'x-answer': String(received.length) });
        res.end(JSON.stringify({ data: { echo: body } }));
      }, delayMs);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const query = (text: string) => JSON.stringify({ query: text, variables: {} });
const post = (body: string, headers: Record<string, string> = {}) => ({ method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });

describe('the subgraph fetcher', () => {
  it('answers like fetch: status, headers, the body as text or JSON once', async () => {
    const fetcher = subgraphFetcher('stand-in', 5_000);
    const res = await fetcher(url, post(query('{ a }')));
    expect(res.ok).toBe(true);
    expect(res.status).toBe(200);
    expect(res.headers.get('Content-Type')).toBe('application/json');
    expect(await res.json()).toEqual({ data: { echo: query('{ a }') } });
    await expect(res.text()).rejects.toThrow(/already been read/);
  });

  it('shares one request between identical queries in flight, and only those', async () => {
    const fetcher = subgraphFetcher('stand-in', 5_000, { dedupe: { ignoreHeader: 'x-request-id' } });
    received.length = 0;
    const answers = await Promise.all([
      fetcher(url, post(query('{ a }'), { 'x-mercado-context': 'token-1', 'x-request-id': 'r1' })),
      fetcher(url, post(query('{ a }'), { 'x-mercado-context': 'token-1', 'x-request-id': 'r2' })),
      fetcher(url, post(query('query Q { a }'), { 'x-mercado-context': 'token-1', 'x-request-id': 'r3' })),
      fetcher(url, post(query('query Q { a }'), { 'x-mercado-context': 'token-1', 'x-request-id': 'r4' })),
      // Another identity, another query, a mutation: each goes out on its own.
      fetcher(url, post(query('{ a }'), { 'x-mercado-context': 'token-2', 'x-request-id': 'r5' })),
      fetcher(url, post(query('{ b }'), { 'x-mercado-context': 'token-1', 'x-request-id': 'r6' })),
      fetcher(url, post(query('mutation { m }'), { 'x-mercado-context': 'token-1', 'x-request-id': 'r7' })),
      fetcher(url, post(query('mutation { m }'), { 'x-mercado-context': 'token-1', 'x-request-id': 'r8' })),
    ]);
    expect(received.map((r) => [JSON.parse(r.body).query, r.headers['x-mercado-context']])).toEqual(
      expect.arrayContaining([
        ['{ a }', 'token-1'],
        ['query Q { a }', 'token-1'],
        ['{ a }', 'token-2'],
        ['{ b }', 'token-1'],
        ['mutation { m }', 'token-1'],
        ['mutation { m }', 'token-1'],
      ]),
    );
    expect(received).toHaveLength(6);
    // Each caller reads its own copy of the shared answer.
    const bodies = await Promise.all(answers.map((answer) => answer.json()));
    expect(bodies[0]).toEqual(bodies[1]);
    expect(bodies[0]).not.toBe(bodies[1]);
    expect(answers[0]!.headers.get('x-answer')).toBe(answers[1]!.headers.get('x-answer'));

    // Once answered, the same query goes out again.
    await fetcher(url, post(query('{ a }'), { 'x-mercado-context': 'token-1', 'x-request-id': 'r9' }));
    expect(received).toHaveLength(7);
  });

  it('sends every request when sharing is off', async () => {
    const fetcher = subgraphFetcher('stand-in', 5_000);
    received.length = 0;
    await Promise.all([fetcher(url, post(query('{ a }'))), fetcher(url, post(query('{ a }')))]);
    expect(received).toHaveLength(2);
  });

  it('fails a request whose whole answer takes longer than the time limit, with ETIMEDOUT', async () => {
    delayMs = 500;
    try {
      const fetcher = subgraphFetcher('slow', 100, { dedupe: {} });
      const both = [fetcher(url, post(query('{ slow }'))), fetcher(url, post(query('{ slow }')))];
      for (const attempt of both) await expect(attempt).rejects.toMatchObject({ code: 'ETIMEDOUT', message: expect.stringMatching(/slow did not answer within 100 ms/) });
    } finally {
      delayMs = 50;
    }
  });

  it('reports a refused connection in words error masking recognises', async () => {
    const fetcher = subgraphFetcher('gone', 1_000);
    await expect(fetcher('http://127.0.0.1:9/graphql', post(query('{ a }')))).rejects.toMatchObject({
      code: 'ECONNREFUSED',
      message: expect.stringMatching(/^request to subgraph gone failed: .*ECONNREFUSED/),
    });
  });
});
