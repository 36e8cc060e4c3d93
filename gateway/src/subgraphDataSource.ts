import { RemoteGraphQLDataSource } from '@apollo/gateway';
import type { GatewayGraphQLRequest, GatewayGraphQLResponse } from '@apollo/server-gateway-interface';

/** @apollo/gateway's `isObject` (utilities/predicates.js). */
const isObject = (value: unknown): value is Record<string, unknown> =>
  value !== undefined && value !== null && typeof value === 'object' && !Array.isArray(value);

/**
 * RemoteGraphQLDataSource minus one object per subgraph call: its `sendRequest` builds a
 * node-fetch `Request` (parsing the URL again, copying the headers) only to pass it to
 * `parseBody` and `didEncounterError`, which do not read it (the gateway overrides neither).
 * This `sendRequest` is the same steps in the same order without it: the same fetcher call, the
 * same error for a non-2xx answer, the same body parsing and the same response. Everything else
 * (headers, `willSendRequest`, APQ, cache hints) is RemoteGraphQLDataSource's own.
 */
export class SubgraphDataSource<TContext extends Record<string, any> = Record<string, any>> extends RemoteGraphQLDataSource<TContext> {}

// `sendRequest` is private in the typings, so it is replaced on the prototype rather than overridden.
Object.defineProperty(SubgraphDataSource.prototype, 'sendRequest', {
  configurable: true,
  writable: true,
  value: async function sendRequest(this: SubgraphDataSource, request: GatewayGraphQLRequest, context: Record<string, any>): Promise<GatewayGraphQLResponse> {
    if (!request.http) throw new Error("Internal error: Only 'http' requests are supported.");
    const { http, ...requestWithoutHttp } = request;
    const requestInit = {
      method: http.method,
      headers: Object.fromEntries(http.headers),
      body: JSON.stringify(requestWithoutHttp),
    };
    let fetchResponse: Awaited<ReturnType<SubgraphDataSource['fetcher']>> | undefined;
    try {
      fetchResponse = await this.fetcher(http.url, requestInit);
      if (!fetchResponse.ok) throw await this.errorFromResponse(fetchResponse);
      const body = await this.parseBody(fetchResponse, undefined, context);
      if (!isObject(body)) throw new Error(`Expected JSON response body, but received: ${body}`);
      return { ...body, http: fetchResponse } as GatewayGraphQLResponse;
    } catch (error) {
      // The base class's hook rethrows; it never reads the request it is given.
      this.didEncounterError(error as Error, undefined as never, fetchResponse, context, request);
      throw error;
    }
  },
});
