import type { Logger } from '@mercado/service-kit';
import { createLiveGraph, type LiveGraph, type LiveGraphOptions, type SubscriptionOptions } from './liveGraph.ts';
import type { GatewayPlugin } from '../plugin.ts';

export { defaultSubscriptionLimits } from './defaults.ts';
export type { LiveGraph, SubscriptionOptions } from './liveGraph.ts';

/**
 * Connects this gateway process to the integration events (a LiveEvents queue of its own,
 * bound only to what its subscribers follow) and serves subscriptions over WebSocket and SSE.
 * The broker's library loads here only, for gateways that serve subscriptions.
 */
export async function startSubscriptions(opts: Omit<LiveGraphOptions, 'liveEvents'> & { subscriptions: SubscriptionOptions; logger: Logger }): Promise<LiveGraph> {
  const { connectToBroker, LiveEvents, topologyNames } = await import('@mercado/event-bus');
  const connection = connectToBroker(opts.subscriptions.amqpUrl, opts.logger, `${opts.subscriptions.eventsPrefix}-gateway-live-${process.pid}`);
  const liveEvents = new LiveEvents({ connection, names: topologyNames(opts.subscriptions.eventsPrefix), logger: opts.logger, owner: 'gateway' });
  await liveEvents.start();
  const graph = createLiveGraph({ ...opts, liveEvents });
  let closed: Promise<void> | undefined;
  return {
    attach: (server) => graph.attach(server),
    handlesSse: (req) => graph.handlesSse(req),
    handleSse: (req, res) => graph.handleSse(req, res),
    get size() {
      return graph.size;
    },
    close: () =>
      (closed ??= (async () => {
        await graph.close();
        await liveEvents.stop().catch(() => {});
        await connection.close();
      })()),
  };
}

/**
 * Subscriptions as a gateway plugin: answers SSE subscriptions on /graphql and closes the live
 * graph (the WebSocket side is attached to the HTTP server once it listens).
 */
export function useLiveGraph(live: LiveGraph): GatewayPlugin {
  return {
    name: 'live-graph',
    async onRequest(req, res) {
      if (!live.handlesSse(req)) return false;
      await live.handleSse(req, res);
      return true;
    },
    close: () => live.close(),
  };
}
