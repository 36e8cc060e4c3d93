import { collectDefaultMetrics, register as metricsRegistry } from 'prom-client';
import { listen, sendJson, type ListeningServer, type RouteHandler } from './httpServer.ts';
import type { Readiness } from './readiness.ts';

/**
 * The management port: Prometheus `/metrics`, `/health` and `/ready`, on a port of its own so
 * that the figures are not open to whoever reaches the public port (a scraper or a probe inside
 * the cluster reaches it; an Ingress and a NetworkPolicy keep everyone else out).
 */
let defaultMetrics = false;

export async function startManagementServer(opts: { name: string; port: number; host?: string; readiness: Readiness }): Promise<ListeningServer> {
  // The process's own figures (CPU, memory, event loop lag, GC), once per process.
  if (!defaultMetrics) {
    collectDefaultMetrics();
    defaultMetrics = true;
  }
  const routes: Record<string, RouteHandler> = {
    'GET /metrics': async (_req, res) => {
      res.writeHead(200, { 'content-type': metricsRegistry.contentType });
      res.end(await metricsRegistry.metrics());
    },
    'GET /health': (_req, res) => sendJson(res, 200, { status: 'ok', service: opts.name }),
    'GET /ready': opts.readiness.route(),
  };
  return listenRoutes(routes, opts.port, opts.host);
}

/** A server of plain routes by "METHOD /path" (a management port's), 404 for anything else. */
export function listenRoutes(routes: Record<string, RouteHandler>, port: number, host?: string): Promise<ListeningServer> {
  return listen(
    async (req, res) => {
      const route = routes[`${req.method} ${new URL(req.url ?? '/', 'http://localhost').pathname}`];
      if (route) return route(req, res);
      sendJson(res, 404, { errors: [{ message: 'Not found', extensions: { code: 'NOT_FOUND' } }] });
    },
    port,
    host,
  );
}
