import { GraphQLError } from 'graphql';

/**
 * `orderUpdated` is served by the gateway (it re-reads `order` when the order's events arrive);
 * this subgraph only declares it in the graph.
 */
export const Subscription = {
  orderUpdated: {
    subscribe: () => {
      throw new GraphQLError('Subscribe through the gateway: this service does not serve subscriptions', { extensions: { code: 'BAD_REQUEST' } });
    },
  },
};
