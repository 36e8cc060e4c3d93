import { sendJson, type RouteHandler } from '@mercado/service-kit';

/**
 * `GET /ready`: 200 when the supergraph is loaded and every subgraph's /health answers within
 * `timeoutMs`, 503 otherwise. Subgraphs are named, never located: the answer is public and their
 * addresses are not.
 *
 * @param subgraphUrls the GraphQL URL of each subgraph the loaded supergraph uses, by name
 */
export function readinessRoute(subgraphUrls: ReadonlyMap<string, string>, timeoutMs: number): RouteHandler {
  return async (_req, res) => {
    if (subgraphUrls.size === 0) return sendJson(res, 503, { status: 'unavailable', reason: 'supergraph not loaded' }, { 'cache-control': 'no-store' });
    const checks = await Promise.all(
      [...subgraphUrls].map(async ([name, url]) => {
        try {
          const response = await fetch(new URL('/health', url), { signal: AbortSignal.timeout(timeoutMs) });
          await response.body?.cancel();
          return [name, response.ok ? 'up' : 'down'] as const;
        } catch {
          return [name, 'down'] as const;
        }
      }),
    );
    const down = checks.filter(([, state]) => state === 'down').map(([name]) => name);
    sendJson(
      res,
      down.length === 0 ? 200 : 503,
      { status: down.length === 0 ? 'ready' : 'unavailable', subgraphs: Object.fromEntries(checks), ...(down.length > 0 ? { down } : {}) },
      { 'cache-control': 'no-store' },
    );
  };
}
