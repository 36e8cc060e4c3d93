/**
 * The subgraphs this repository composes, with the URLs written into the committed
 * supergraph (local development ports). Other environments override a URL with
 * SUBGRAPH_<NAME>_URL at run time rather than recomposing.
 */
export const subgraphs = [
  { name: 'accounts', url: 'http://127.0.0.1:4001/graphql' },
  { name: 'catalog', url: 'http://127.0.0.1:4002/graphql' },
  { name: 'inventory', url: 'http://127.0.0.1:4003/graphql' },
  { name: 'orders', url: 'http://127.0.0.1:4004/graphql' },
  { name: 'reviews', url: 'http://127.0.0.1:4005/graphql' },
  { name: 'payments', url: 'http://127.0.0.1:4006/graphql' },
] as const;

export type SubgraphName = (typeof subgraphs)[number]['name'];
