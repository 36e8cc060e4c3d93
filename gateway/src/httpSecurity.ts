import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendJson } from '@mercado/service-kit';
import type { GatewayPlugin } from './plugin.ts';
import { countRefusal } from './observability.ts';

/**
 * Origins allowed in development when CORS_ORIGINS is not set: local front ends on any port and
 * Apollo's hosted Sandbox and Studio (the embedded Sandbox calls from its own iframe origin).
 */
export const developmentCorsOrigins = [
  'http://localhost:*',
  'http://127.0.0.1:*',
  'https://studio.apollographql.com',
  'https://sandbox.embed.apollographql.com',
];

export interface HttpSecurityOptions {
  production: boolean;
  /** Exact origins, or patterns where `*` stands for one port or one host label. */
  corsOrigins: readonly string[];
}

/** Headers a browser may send cross-origin: JSON bodies, tokens, and Apollo's CSRF-safe headers. */
const allowedRequestHeaders = [
  'content-type',
  'authorization',
  'apollo-require-preflight',
  'x-apollo-operation-name',
  'apollographql-client-name',
  'apollographql-client-version',
  'x-request-id',
].join(', ');

// Only JSON leaves the gateway (apart from the development Sandbox page): nothing may load, run or frame it.
const jsonContentSecurityPolicy = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

function originPattern(origin: string): RegExp {
  const escaped = origin.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[A-Za-z0-9-]+');
  return new RegExp(`^${escaped}$`);
}

function prefersHtml(req: IncomingMessage): boolean {
  return req.method === 'GET' && /text\/html/.test(req.headers.accept ?? '');
}

/**
 * Security headers on every response, CORS by allowlist. Returns true when it answered the
 * request itself (a preflight, or a browser request from an origin that is not allowed).
 *
 * A request with an Origin header comes from a browser page; one from a page that is neither on
 * the allowlist nor the gateway's own origin is refused outright (403), not just left without
 * CORS headers, so a foreign page cannot even make the gateway do work on a user's behalf.
 * Requests without Origin (servers, curl, mobile apps) are not affected.
 */
export function createHttpSecurity(opts: HttpSecurityOptions) {
  const patterns = opts.corsOrigins.map(originPattern);
  const allowed = (origin: string, host: string | undefined) => {
    if (patterns.some((p) => p.test(origin))) return true;
    try {
      return new URL(origin).host === host;
    } catch {
      return false;
    }
  };

  return function applyHttpSecurity(req: IncomingMessage, res: ServerResponse): boolean {
    res.setHeader('x-content-type-options', 'nosniff');
    res.setHeader('referrer-policy', 'no-referrer');
    res.setHeader('x-frame-options', 'DENY');
    if (opts.production) res.setHeader('strict-transport-security', 'max-age=31536000; includeSubDomains');
    // The development Sandbox page loads Apollo's scripts and frames from their CDN (it carries
    // nonces for a policy of its own); the JSON policy would leave it blank.
    if (opts.production || !prefersHtml(req)) res.setHeader('content-security-policy', jsonContentSecurityPolicy);
    res.setHeader('vary', 'Origin');

    const origin = req.headers.origin;
    if (origin !== undefined) {
      if (!allowed(origin, req.headers.host)) {
        sendJson(res, 403, { errors: [{ message: 'Requests from this origin are not allowed', extensions: { code: 'ORIGIN_NOT_ALLOWED' } }] });
        return true;
      }
      res.setHeader('access-control-allow-origin', origin);
      res.setHeader('access-control-expose-headers', 'retry-after');
    }
    if (req.method === 'OPTIONS') {
      res.setHeader('allow', 'GET, POST, OPTIONS');
      if (origin !== undefined) {
        res.setHeader('access-control-allow-methods', 'GET, POST, OPTIONS');
        res.setHeader('access-control-allow-headers', allowedRequestHeaders);
        res.setHeader('access-control-max-age', '600');
      }
      res.writeHead(204).end();
      return true;
    }
    return false;
  };
}

/**
 * The same origin rule for requests that have no response to write headers on (a WebSocket
 * upgrade): the allowlist, or the gateway's own origin.
 */
export function createOriginCheck(corsOrigins: readonly string[]) {
  const patterns = corsOrigins.map(originPattern);
  return (origin: string, host: string | undefined): boolean => {
    if (patterns.some((p) => p.test(origin))) return true;
    try {
      return new URL(origin).host === host;
    } catch {
      return false;
    }
  };
}

/** Security headers, CORS and the Origin check as a gateway plugin (answers preflights and refusals itself). */
export function useHttpSecurity(opts: HttpSecurityOptions): GatewayPlugin {
  const apply = createHttpSecurity(opts);
  return {
    name: 'http-security',
    onRequest(req, res) {
      if (!apply(req, res)) return false;
      if (res.statusCode === 403) countRefusal('ORIGIN_NOT_ALLOWED');
      return true;
    },
  };
}
