import { services } from '@mercado/system';

/**
 * The subgraphs the gateway composes, from the system manifest, with the URLs written into the
 * committed supergraph (local development ports). Other environments override a URL with
 * SUBGRAPH_<NAME>_URL at run time rather than recomposing.
 */
export const subgraphs = services.map(({ name, port }) => ({ name, url: `http://127.0.0.1:${port}/graphql` }));

export type SubgraphName = (typeof services)[number]['name'];
