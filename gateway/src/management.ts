import { AggregatorRegistry } from 'prom-client';
import { listenRoutes, sendJson, type ListeningServer, type Logger, type RouteHandler } from '@mercado/service-kit';

/**
 * The management port of a clustered gateway's primary (GATEWAY_WORKERS > 1): the workers share
 * the public port, so the figures and probes are the primary's to answer. `/metrics` adds up
 * every worker's registry (prom-client asks each over the cluster's IPC channel); `/ready` is the
 * answer of whichever worker takes the request on the public port, since each worker checks the
 * same subgraphs. A single-process gateway serves its own (service-kit's management server).
 */
export async function servePrimaryManagement(opts: { port: number; host: string; publicPort: number; logger: Logger }): Promise<ListeningServer> {
  const aggregator = new AggregatorRegistry();
  const publicReady = `http://${opts.host.includes(':') ? `[${opts.host}]` : opts.host}:${opts.publicPort}/ready`;
  const routes: Record<string, RouteHandler> = {
    'GET /metrics': async (_req, res) => {
      try {
        const text = await aggregator.clusterMetrics();
        res.writeHead(200, { 'content-type': aggregator.contentType });
        res.end(text);
      } catch (error) {
        opts.logger.warn({ err: error }, 'gateway workers did not all answer for /metrics');
        sendJson(res, 503, { status: 'unavailable' });
      }
    },
    'GET /health': (_req, res) => sendJson(res, 200, { status: 'ok', service: 'gateway' }),
    'GET /ready': async (_req, res) => {
      try {
        const response = await fetch(publicReady, { signal: AbortSignal.timeout(3_000) });
        sendJson(res, response.status, await response.json(), { 'cache-control': 'no-store' });
      } catch {
        sendJson(res, 503, { status: 'unavailable', reason: 'no worker answered' }, { 'cache-control': 'no-store' });
      }
    },
  };
  return listenRoutes(routes, opts.port, opts.host);
}
