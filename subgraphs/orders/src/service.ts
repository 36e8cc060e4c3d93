import { loadSchemaFile, startSubgraph, type SubgraphRuntime } from '@mercado/service-kit';
import { SagaBus } from '@mercado/saga';
import { createContext } from './context.ts';
import type { Db } from './db.ts';
import { resolvers } from './resolvers/index.ts';

export const typeDefs = loadSchemaFile(new URL('../schema.graphql', import.meta.url));

/** Starts the orders subgraph on an open database; used by main.ts and by tests. */
export async function startOrders(db: Db, runtime: SubgraphRuntime, options: { stepTimeoutMs?: number } = {}) {
  const bus = runtime.saga ? new SagaBus(runtime.saga) : null;
  const sagas = bus ? { bus, stepTimeoutMs: options.stepTimeoutMs ?? 10_000 } : null;
  const service = await startSubgraph(
    { name: 'orders', typeDefs, resolvers, context: (internal) => createContext(db, internal, sagas) },
    runtime,
  );
  return {
    ...service,
    close: async (graceMs?: number) => {
      await service.close(graceMs);
      await bus?.close();
    },
  };
}
