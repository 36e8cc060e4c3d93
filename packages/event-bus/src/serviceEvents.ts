import pg from 'pg';
import type { Logger } from 'pino';
import { connectToBroker } from './connection.ts';
import { EventConsumer, type Handler, type InboxTransaction } from './consumer.ts';
import type { IntegrationEvent } from './envelope.ts';
import { appendToOutbox, type SqlTransaction } from './outbox.ts';
import { reportOutbox, reportParkingLot } from './metrics.ts';
import { pgTransaction, type PgSql } from './pgTransaction.ts';
import { OutboxRelay } from './relay.ts';
import { topologyNames } from './topology.ts';

/** What a service declares about its integration events (part of its ServiceModule). */
export interface ServiceEvents<TDb, Tx extends InboxTransaction = any> {
  /** True when the service has an outbox: it runs a relay. */
  produces: boolean;
  /** Handlers by routing key (`<source>.<Type>`) for the events it replicates. */
  handlers?: Record<string, Handler<Tx>>;
  /**
   * How the consumer runs a batch in one transaction of the service's database: a function of
   * the service's client (Prisma's interactive `$transaction`), or `'pg'` when every handler is
   * raw SQL (Tx is PgSql): a plain pg transaction on a small pool of the consumer's own, which
   * spares the CPU Prisma's interactive transaction spends around the statements it carries
   * (docs/performance.md, Run 5). The consumer's SQL is then not in Prisma's trace spans.
   */
  transaction?: (PgSql extends Tx ? 'pg' : never) | (<T>(db: TDb, fn: (tx: Tx) => Promise<T>) => Promise<T>);
  /**
   * Source side of a rebuild and of a check: the current state of every aggregate it publishes,
   * as snapshot events (at the aggregate's current version).
   */
  snapshot?: (db: TDb) => Promise<IntegrationEvent[]>;
  /** Consumer side of a rebuild and of a check. */
  readModel?: ReadModel<TDb>;
}

/**
 * One replicated aggregate, keyed `<source>:<aggregateId>`, with the version and the fields a
 * read model keeps of it: what a check compares between a source and a replica.
 */
export interface ReplicatedState {
  key: string;
  version: number;
  fields: Record<string, unknown>;
}

export interface ReadModel<TDb> {
  /** The services it replicates from. */
  sources: string[];
  clear: (db: TDb) => Promise<void>;
  count: (db: TDb) => Promise<number>;
  /** Every aggregate the read model holds, as it holds it. */
  rows: (db: TDb) => Promise<ReplicatedState[]>;
  /**
   * What the read model should hold for a source's snapshot event: the consumer's own reading of
   * its payload, as its handler applies it (throws, as the handler would, when it cannot read it).
   */
  expect: (event: IntegrationEvent) => ReplicatedState;
}

/** The key of an aggregate replicated from an event: `<source>:<aggregateId>`. */
export const replicaKey = (event: Pick<IntegrationEvent, 'source' | 'aggregateId'>) => `${event.source}:${event.aggregateId}`;

/**
 * Writes a source's snapshot events to its outbox, 500 to a transaction (a rebuild, or a read
 * model found empty at start-up); the relay publishes them like any other event. Returns how many.
 */
export async function republish(
  db: { $transaction<T>(fn: (tx: SqlTransaction) => Promise<T>): Promise<T> },
  events: IntegrationEvent[],
): Promise<number> {
  for (let i = 0; i < events.length; i += 500) await db.$transaction((tx) => appendToOutbox(tx, ...events.slice(i, i + 500)));
  return events.length;
}

export interface EventWorkersConfig {
  amqpUrl: string;
  /** Names exchanges and queues; tests use a unique one. */
  prefix: string;
  databaseUrl: string;
  logger: Logger;
  /**
   * false: return at once when the broker cannot be reached yet (a service process: it serves
   * and reports not ready until the connection is up). Default true: wait for it.
   */
  waitForBroker?: boolean;
}

export interface RunningEventWorkers {
  relay?: OutboxRelay;
  consumer?: EventConsumer<any>;
  /** Connected to the broker, the consumer attached and the relay's channel open. */
  ready(): boolean;
  /** Stops taking deliveries: the batch in hand commits and is acked, the rest goes back to the queue. */
  stopConsuming(): Promise<void>;
  /** Lets the relay publish the batch in hand, then stops it. */
  stopRelay(): Promise<void>;
  /** Stops both (if not stopped yet) and closes the broker connection. */
  close(): Promise<void>;
}

/** Starts a service's relay and consumer (whichever it has) on one broker connection. */
export async function startEventWorkers<TDb>(
  service: { name: string; events?: ServiceEvents<TDb> },
  db: TDb,
  config: EventWorkersConfig,
): Promise<RunningEventWorkers> {
  const events = service.events;
  if (!events || (!events.produces && !events.handlers)) {
    return { ready: () => true, stopConsuming: async () => {}, stopRelay: async () => {}, close: async () => {} };
  }
  const names = topologyNames(config.prefix);
  // Named <prefix>-<service> (mercado-orders under npm start): what the broker's connection list shows.
  const connection = connectToBroker(config.amqpUrl, config.logger, `${config.prefix}-${service.name}`);
  const startOptions = { waitForBroker: config.waitForBroker ?? true };
  let consumer: EventConsumer<any> | undefined;
  let relay: OutboxRelay | undefined;
  let consumerPool: pg.Pool | undefined;
  if (events.handlers) {
    const { transaction } = events;
    if (!transaction) throw new Error(`${service.name} has event handlers but no transaction to run them in`);
    if (transaction === 'pg') consumerPool = consumerTransactionPool(config.databaseUrl, `${service.name} event consumer`, config.logger);
    consumer = new EventConsumer({
      consumer: service.name,
      connection,
      names,
      handlers: events.handlers,
      transaction: transaction === 'pg' ? pgTransaction(consumerPool!) : (fn) => transaction(db, fn),
      logger: config.logger,
    });
    await consumer.start(startOptions);
  }
  const unreport: Array<() => void> = [];
  if (consumer) unreport.push(reportParkingLot(service.name, () => consumer!.parkedCount()));
  if (events.produces) {
    relay = new OutboxRelay({ databaseUrl: config.databaseUrl, connection, names, logger: config.logger, service: service.name });
    await relay.start(startOptions);
    unreport.push(reportOutbox(service.name, () => relay!.backlog()));
  }
  let consuming: Promise<void> | undefined;
  let relaying: Promise<void> | undefined;
  const stopConsuming = () => (consuming ??= consumer?.stop() ?? Promise.resolve());
  const stopRelay = () => (relaying ??= relay?.stop() ?? Promise.resolve());
  return {
    relay,
    consumer,
    ready: () => connection.isConnected() && (consumer?.attached ?? true) && (relay?.connected ?? true),
    stopConsuming,
    stopRelay,
    async close() {
      for (const stop of unreport) stop();
      await stopRelay();
      await stopConsuming();
      await connection.close();
      await consumerPool?.end();
    },
  };
}

/**
 * The pool a consumer with `transaction: 'pg'` applies its batches on. Two connections: the
 * consumer applies one batch at a time (the next gathers while it commits), and the hourly inbox
 * prune may run beside it. The limits are Prisma's interactive transactions' in the services
 * (service-kit's defaultTransactionOptions: 8 s to get a connection, 15 s for the work), so that
 * a stuck batch still fails, and is retried message by message, as before. Commits stay
 * synchronous: the broker's ack follows the inbox row's commit.
 */
function consumerTransactionPool(databaseUrl: string, name: string, logger: Logger): pg.Pool {
  // Named, so that pg_stat_activity tells its connections from the service's Prisma pool.
  const pool = new pg.Pool({ connectionString: databaseUrl, application_name: name, max: 2, connectionTimeoutMillis: 8_000, statement_timeout: 15_000 });
  pool.on('error', (err) => logger.warn({ err }, 'event consumer pool error'));
  return pool;
}
