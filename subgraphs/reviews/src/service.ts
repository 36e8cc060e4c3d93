import { loadSchemaFile, startSubgraph, type SubgraphRuntime } from '@mercado/service-kit';
import { createContext } from './context.ts';
import type { Db } from './db.ts';
import { resolvers } from './resolvers/index.ts';

export const typeDefs = loadSchemaFile(new URL('../schema.graphql', import.meta.url));

/** Starts the reviews subgraph on an open database; used by main.ts and by tests. */
export function startReviews(db: Db, runtime: SubgraphRuntime) {
  return startSubgraph(
    { name: 'reviews', typeDefs, resolvers, context: (internal) => createContext(db, internal) },
    runtime,
  );
}
