import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendJson } from '@mercado/service-kit';
import type { GatewayPlugin } from './plugin.ts';
import { countRefusal } from './observability.ts';

/**
 * Names the gateway answers to in development when PUBLIC_HOSTS is not set: this machine's
 * loopback names only. A web page that rebinds its own domain to 127.0.0.1 (DNS rebinding)
 * sends its own domain as Host, and is refused.
 */
export const developmentPublicHosts = ['localhost', '*.localhost', '127.0.0.1', '[::1]'];

/** Probes (load balancers, Kubernetes) call these by address; they reveal nothing. */
const probePaths = new Set(['/health', '/ready']);

function hostPattern(host: string): RegExp {
  const escaped = host.toLowerCase().replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[a-z0-9-]+');
  return new RegExp(`^${escaped}$`);
}

/** The Host header's name without its port (`[::1]:4000` -> `[::1]`), lower-cased; undefined when malformed. */
export function hostName(host: string | undefined): string | undefined {
  if (!host) return undefined;
  const match = /^(\[[0-9a-f:.]+\]|[a-z0-9.-]+)(?::\d{1,5})?$/i.exec(host.trim());
  return match?.[1]!.toLowerCase();
}

/**
 * Refuses requests whose Host header is not one of the gateway's public names (421,
 * `HOST_NOT_ALLOWED`), before any Origin check trusts that header. Returns true when it
 * answered. An empty list turns the check off (production without PUBLIC_HOSTS).
 */
export function createHostCheck(publicHosts: readonly string[]) {
  const allowed = hostMatcher(publicHosts);
  return function checkHost(req: IncomingMessage, res: ServerResponse): boolean {
    if (req.method === 'GET' && probePaths.has((req.url ?? '/').split('?')[0]!)) return false;
    if (allowed(req.headers.host)) return false;
    sendJson(res, 421, { errors: [{ message: 'This gateway does not answer to that host name', extensions: { code: 'HOST_NOT_ALLOWED' } }] });
    return true;
  };
}

/** Whether a Host header names one of the public names (always, when the list is empty). */
export function hostMatcher(publicHosts: readonly string[]): (host: string | undefined) => boolean {
  const patterns = publicHosts.map(hostPattern);
  return (host) => {
    if (patterns.length === 0) return true;
    const name = hostName(host);
    return name !== undefined && patterns.some((p) => p.test(name));
  };
}

/** The Host check as a gateway plugin: first at the door, before anything trusts the Host header. */
export function useHostCheck(publicHosts: readonly string[]): GatewayPlugin {
  const checkHost = createHostCheck(publicHosts);
  return {
    name: 'host-check',
    onRequest(req, res) {
      if (!checkHost(req, res)) return false;
      countRefusal('HOST_NOT_ALLOWED');
      return true;
    },
  };
}
