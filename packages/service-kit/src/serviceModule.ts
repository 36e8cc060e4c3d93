import type { z } from 'zod';
import type { ServiceEvents } from '@mercado/event-bus';
import type { Logger } from './logger.ts';
import type { RunningService, SagaRuntime, SubgraphRuntime } from './subgraph.ts';

/** The service's own variables, parsed (what `environment` declares, with its defaults). */
export type ServiceSettings<TEnv extends z.ZodRawShape> = z.infer<z.ZodObject<TEnv>>;

/** What a service's saga workers hand back: how to stop them, and whether their Redis connections are up. */
export interface RunningWorkers {
  close(): Promise<void>;
  ready?(): boolean;
}

/**
 * What each subgraph package exports as `service`, so that its own process (`main.ts`), the
 * start-up and operator scripts, the test stacks and the benchmarks bring up every service the
 * same way without knowing its insides. Its name, ports and events are declared once in the
 * system manifest (@mercado/system).
 */
export interface ServiceModule<TDb extends { $disconnect(): Promise<void> } = any, TEnv extends z.ZodRawShape = any> {
  name: string;
  /** Its own environment variables, beyond those every service reads (`serviceEnvironment`). */
  environment: TEnv;
  /** Absolute path of the service's Prisma migrations folder. */
  migrationsDir: string;
  createDb(databaseUrl: string, onQuery?: (sql: string) => void): TDb;
  /** Idempotent development data. Returns a one-line summary for the start-up log. */
  seed(db: TDb): Promise<string>;
  start(db: TDb, runtime: SubgraphRuntime, settings: ServiceSettings<TEnv>): Promise<RunningService>;
  /** Its integration events: outbox relay, replicated read models, rebuild hooks. */
  events?: ServiceEvents<TDb>;
  /** Its saga workers (participant or orchestrator), on BullMQ. */
  workers?: (db: TDb, config: SagaRuntime & { logger: Logger }, settings: ServiceSettings<TEnv>) => Promise<RunningWorkers>;
}

/** Declares a service module with its types inferred from its parts. */
export function defineService<TDb extends { $disconnect(): Promise<void> }, TEnv extends z.ZodRawShape>(
  service: ServiceModule<TDb, TEnv>,
): ServiceModule<TDb, TEnv> {
  return service;
}
