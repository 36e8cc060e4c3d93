import { composeSupergraph, startGateway, type GatewayOptions } from '@mercado/gateway';
import { randomBytes } from 'node:crypto';
import { loadServices } from '@mercado/bring-up';
import { declareTopology, deleteTopology, startEventWorkers, verifyUntilEqual, type RunningEventWorkers } from '@mercado/event-bus';
import { deleteSagaKeys } from '@mercado/saga';
import { createLogger, parseEnvironment, Readiness, startManagementServer, type RunningService, type SagaRuntime, type ServiceModule } from '@mercado/service-kit';
import { createTestDatabase, testInternalSecret, type TestDatabase } from '@mercado/service-kit/testing';
import { consumers as consumingServices } from '@mercado/system';

export interface InProcessStack {
  gateway: RunningService;
  subgraphs: Record<string, RunningService>;
  /** Every service's module (database, seed, events), by name. */
  services: Record<string, ServiceModule>;
  /** This process's Prometheus /metrics (every service of the stack shares the one registry). */
  metricsUrl: string;
  /** Each service's database URL, for tests that check state behind the API. */
  databaseUrls: Record<string, string>;
  /** Each service's outbox relay and event consumer, when events are on. */
  events: Record<string, RunningEventWorkers>;
  /** Prefix of this stack's exchanges and queues on the broker. */
  eventsPrefix: string;
  /** Each service's saga workers (participants, orchestrator), when sagas are on. */
  workers: Record<string, { close(): Promise<void> }>;
  /** Starts a service's saga workers again (after a test stopped them). */
  startWorkers(service: string): Promise<void>;
  /** BullMQ key prefix of this stack's saga queues. */
  sagaPrefix: string;
  /** SQL statements each service has run since the last `resetQueryLog()`. */
  queries: Record<string, string[]>;
  resetQueryLog(): void;
  close(): Promise<void>;
}

/**
 * Every subgraph and the gateway in this process, each on port 0 and on its own fresh,
 * uniquely named databases, seeded with the development data. `close()` drops the databases.
 */
export async function startInProcessStack(
  opts: {
    seed?: boolean;
    logLevel?: string;
    /** Overrides some of the gateway's options (limits, rate limit, production, ...). */
    gateway?: Partial<Omit<GatewayOptions, 'subscriptions'>> & { subscriptions?: Partial<GatewayOptions['subscriptions']> };
    /** Integration events over the real broker, under a unique prefix (default on). */
    events?: boolean;
    /** Saga queues on the real Redis, under a unique prefix (default on). */
    sagas?: boolean;
    /**
     * The saga workers' job locks (BullMQ's 30 s defaults otherwise): a test that kills workers
     * shortens them, so that the jobs a dead worker held are handed out again soon.
     */
    sagaWorkerLocks?: SagaRuntime['worker'];
  } = {},
): Promise<InProcessStack> {
  const logLevel = opts.logLevel ?? process.env.LOG_LEVEL ?? 'silent';
  const queries: Record<string, string[]> = {};
  const closers: Array<() => Promise<unknown>> = [];
  const subgraphs: Record<string, RunningService> = {};
  const databaseUrls: Record<string, string> = {};
  const events: Record<string, RunningEventWorkers> = {};
  const amqpUrl = process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
  const eventsPrefix = `mercado-test-${randomBytes(4).toString('hex')}`;
  const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  const sagaPrefix = eventsPrefix;
  const saga = opts.sagas !== false ? { redisUrl, prefix: sagaPrefix, ...(opts.sagaWorkerLocks ? { worker: opts.sagaWorkerLocks } : {}) } : undefined;
  const workers: Record<string, { close(): Promise<void> }> = {};
  const dbs: Record<string, unknown> = {};
  const settingsOf: Record<string, Record<string, unknown>> = {};
  const modules = await loadServices();
  const services = Object.values(modules);
  const consumers = consumingServices.map((s) => ({ name: s.name, routingKeys: [...s.consumes] }));
  const close = async () => {
    for (const fn of closers.reverse()) await fn().catch(() => {});
  };
  try {
    if (saga) closers.push(() => deleteSagaKeys(redisUrl, sagaPrefix));
    if (opts.events !== false) {
      // Queues first: an event published before its consumer connects must have somewhere to go.
      await declareTopology(amqpUrl, eventsPrefix, consumers);
      closers.push(() => deleteTopology(amqpUrl, eventsPrefix, consumers.map((c) => c.name)));
    }
    for (const service of services) {
      const database: TestDatabase = await createTestDatabase(service.name, service.migrationsDir);
      closers.push(database.drop);
      databaseUrls[service.name] = database.url;
      const log = (queries[service.name] = [] as string[]);
      const db = service.createDb(database.url, (sql) => log.push(sql));
      closers.push(() => db.$disconnect());
      if (opts.seed !== false) await service.seed(db);
      // The service's own variables, from this test process's environment (a test may set one,
      // e.g. SAGA_STEP_TIMEOUT_MS) or at their defaults.
      const settings = parseEnvironment(service.environment, process.env);
      settingsOf[service.name] = settings;
      const running = await service.start(
        db,
        { port: 0, internalTokenSecret: testInternalSecret, logger: createLogger(service.name, logLevel), ...(saga ? { saga } : {}) },
        settings,
      );
      closers.push(running.close);
      dbs[service.name] = db;
      if (saga && service.workers) {
        workers[service.name] = await service.workers(db, { ...saga, logger: createLogger(service.name, logLevel) }, settings);
        closers.push(() => workers[service.name]!.close());
      }
      subgraphs[service.name] = running;
      if (opts.events !== false) {
        const workers = await startEventWorkers(service, db, {
          amqpUrl,
          prefix: eventsPrefix,
          databaseUrl: database.url,
          logger: createLogger(service.name, logLevel),
        });
        closers.push(workers.close);
        events[service.name] = workers;
      }
    }
    if (opts.events !== false && opts.seed !== false) await readModelsInSync(modules, dbs);
    const management = await startManagementServer({ name: 'in-process stack', port: 0, readiness: new Readiness() });
    closers.push(() => management.close(1_000));
    const gateway = await startGateway({
      supergraphSdl: composeSupergraph(),
      subgraphUrls: Object.fromEntries(Object.entries(subgraphs).map(([name, s]) => [name, s.url])),
      auth: { jwksUrl: `${subgraphs.accounts!.baseUrl}/.well-known/jwks.json`, issuer: 'mercado-accounts', audience: 'mercado' },
      internalTokenSecret: testInternalSecret,
      production: false,
      // As in development: the admins' dashboard over this stack's saga queues.
      ...(saga ? { queueDashboard: { redisUrl, prefix: sagaPrefix } } : {}),
      // Accounts records sign-outs under the same prefix (its runtime's saga prefix).
      ...(saga ? { sessionRevocation: { redisUrl, prefix: sagaPrefix } } : {}),
      logger: createLogger('gateway', logLevel),
      port: 0,
      ...{ ...opts.gateway, subscriptions: undefined },
      // Subscriptions over this stack's events (a test may change their limits).
      ...(opts.events !== false ? { subscriptions: { amqpUrl, eventsPrefix, ...opts.gateway?.subscriptions } } : {}),
    });
    closers.push(gateway.close);
    return {
      gateway,
      subgraphs,
      services: modules,
      metricsUrl: `${management.url}/metrics`,
      databaseUrls,
      events,
      eventsPrefix,
      workers,
      sagaPrefix,
      async startWorkers(name) {
        workers[name] = await modules[name]!.workers!(dbs[name], { ...saga!, logger: createLogger(name, logLevel) }, settingsOf[name]!);
      },
      queries,
      resetQueryLog: () => Object.values(queries).forEach((q) => (q.length = 0)),
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

/**
 * Waits until every read model equals its sources after the seed (at most 30 s), so that a test
 * never races the first replication: a restock, a review or an order right after start-up finds
 * the products its service has heard of.
 */
async function readModelsInSync(modules: Record<string, ServiceModule>, dbs: Record<string, unknown>): Promise<void> {
  for (const consumer of Object.values(modules).filter((s) => s.events?.readModel)) {
    const report = await verifyUntilEqual({ consumer, services: modules, dbs, timeoutMs: 30_000, intervalMs: 25 });
    if (!report.equal) throw new Error(`${consumer.name}'s read model did not catch up with its sources in 30 s: ${JSON.stringify(report)}`);
  }
}
