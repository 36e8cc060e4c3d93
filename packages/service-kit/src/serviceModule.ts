import type { ServiceEvents } from '@mercado/event-bus';
import type { Logger } from './logger.ts';
import type { RunningService, SagaRuntime, SubgraphRuntime } from './subgraph.ts';

/**
 * What each subgraph package exports, so the start-up script and the end-to-end tests can
 * bring up every service the same way without knowing their insides.
 */
export interface ServiceModule<TDb extends { $disconnect(): Promise<void> } = any> {
  name: string;
  defaultPort: number;
  /** Absolute path of the service's Prisma migrations folder. */
  migrationsDir: string;
  createDb(databaseUrl: string, onQuery?: (sql: string) => void): TDb;
  /** Idempotent development data. Returns a one-line summary for the start-up log. */
  seed(db: TDb): Promise<string>;
  start(db: TDb, runtime: SubgraphRuntime): Promise<RunningService>;
  /** Its integration events: outbox relay, replicated read models, rebuild hooks. */
  events?: ServiceEvents<TDb>;
  /** Its saga workers (participant or orchestrator), on BullMQ. */
  workers?: (db: TDb, config: SagaRuntime & { logger: Logger }) => Promise<{ close(): Promise<void> }>;
}
