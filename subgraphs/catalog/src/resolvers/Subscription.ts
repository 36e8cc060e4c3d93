import { GraphQLError } from 'graphql';

/**
 * `productUpdated` is served by the gateway (it re-reads `product` when the product's events arrive);
 * this subgraph only declares it in the graph.
 */
export const Subscription = {
  productUpdated: {
    subscribe: () => {
      throw new GraphQLError('Subscribe through the gateway: this service does not serve subscriptions', { extensions: { code: 'BAD_REQUEST' } });
    },
  },
};
