import { RemoteGraphQLDataSource } from '@apollo/gateway';
import { describe, expect, it } from 'vitest';
import { SubgraphDataSource } from './subgraphDataSource.ts';

type Fetcher = RemoteGraphQLDataSource['fetcher'];

/** A fetcher answering with `status` and `body`, recording what it was sent. */
function fakeFetcher(status: number, body: string, contentType = 'application/json') {
  const calls: Array<{ url: string; init: unknown }> = [];
  const fetcher = (async (url: string, init: unknown) => {
    calls.push({ url, init });
    return new Response(body, { status, headers: { 'content-type': contentType } });
  }) as unknown as Fetcher;
  return { fetcher, calls };
}

async function outcome(DataSource: typeof RemoteGraphQLDataSource, status: number, body: string, contentType?: string) {
  const { fetcher, calls } = fakeFetcher(status, body, contentType);
  const source = new DataSource({
    url: 'http://subgraph.test/graphql',
    fetcher,
    willSendRequest: ({ request }) => void request.http?.headers.set('x-mercado-context', 'token'),
  });
  const result = await source
    .process({
      kind: 'health check' as never,
      request: { query: '{ products { id } }', variables: { a: 1 } },
      context: {},
    } as never)
    .then(
      (response) => ({ data: response.data, errors: response.errors, status: response.http?.status }),
      (error: Error & { extensions?: unknown }) => ({ error: error.message, extensions: error.extensions }),
    );
  return { result, calls };
}

describe('SubgraphDataSource', () => {
  for (const [what, status, body, contentType] of [
    ['a GraphQL answer', 200, '{"data":{"products":[{"id":"1"}]}}'],
    ['a GraphQL error', 200, '{"errors":[{"message":"boom"}],"data":null}'],
    ['a server error', 500, '{"errors":[{"message":"down"}]}'],
    ['a refusal that is not JSON', 401, 'Unauthorized', 'text/plain'],
    ['a success that is not JSON', 200, 'not json', 'text/plain'],
  ] as const) {
    it(`sends and answers as RemoteGraphQLDataSource does: ${what}`, async () => {
      const ours = await outcome(SubgraphDataSource, status, body, contentType);
      const apollos = await outcome(RemoteGraphQLDataSource, status, body, contentType);
      expect(ours).toEqual(apollos);
      expect(ours.calls).toHaveLength(1);
    });
  }
});
