import type { RemoteGraphQLDataSource } from '@apollo/gateway';

/**
 * The fetcher the gateway calls one subgraph with: Node's fetch, aborted when the whole answer
 * has not arrived within `timeoutMs`. A subgraph that hangs then costs a client one
 * `SERVICE_UNAVAILABLE` error for the fields it owns (the rest of the response still arrives)
 * instead of a request that never ends.
 */
export function subgraphFetcher(subgraph: string, timeoutMs: number): RemoteGraphQLDataSource['fetcher'] {
  return async (url, init) => {
    try {
      const response = await fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) });
      // The body is read here so that the time limit covers the whole answer, not just its headers.
      const body = await response.arrayBuffer();
      return new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
    } catch (error) {
      if ((error as Error).name !== 'TimeoutError') throw error;
      // A plain error in the same form as a refused connection: the gateway's error masking logs
      // it in full and tells the client SERVICE_UNAVAILABLE, without the subgraph's name or address.
      throw Object.assign(new Error(`subgraph ${subgraph} did not answer within ${timeoutMs} ms (ETIMEDOUT)`), { code: 'ETIMEDOUT' });
    }
  };
}
