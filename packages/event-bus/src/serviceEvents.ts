import type { Logger } from 'pino';
import { connectToBroker } from './connection.ts';
import { EventConsumer, type Handler, type InboxTransaction } from './consumer.ts';
import { OutboxRelay } from './relay.ts';
import { topologyNames } from './topology.ts';

/** What a service declares about its integration events (part of its ServiceModule). */
export interface ServiceEvents<TDb, Tx extends InboxTransaction = any> {
  /** True when the service has an outbox: it runs a relay. */
  produces: boolean;
  /** Handlers by routing key (`<source>.<Type>`) for the events it replicates. */
  handlers?: Record<string, Handler<Tx>>;
  /** Runs fn in one transaction of the service's database. */
  transaction?: <T>(db: TDb, fn: (tx: Tx) => Promise<T>) => Promise<T>;
  /**
   * Source side of a rebuild: writes the current state of every aggregate to the outbox as
   * snapshot events. Returns how many.
   */
  republish?: (db: TDb) => Promise<number>;
  /** Consumer side of a rebuild: the services it replicates from, and how to empty the replica. */
  readModel?: { sources: string[]; clear: (db: TDb) => Promise<void>; count: (db: TDb) => Promise<number> };
}

export interface EventWorkersConfig {
  amqpUrl: string;
  /** Names exchanges and queues; tests use a unique one. */
  prefix: string;
  databaseUrl: string;
  logger: Logger;
}

export interface RunningEventWorkers {
  relay?: OutboxRelay;
  consumer?: EventConsumer<any>;
  close(): Promise<void>;
}

/** Starts a service's relay and consumer (whichever it has) on one broker connection. */
export async function startEventWorkers<TDb>(
  service: { name: string; events?: ServiceEvents<TDb> },
  db: TDb,
  config: EventWorkersConfig,
): Promise<RunningEventWorkers> {
  const events = service.events;
  if (!events || (!events.produces && !events.handlers)) return { close: async () => {} };
  const names = topologyNames(config.prefix);
  const connection = connectToBroker(config.amqpUrl, config.logger, `mercado-${service.name}`);
  let consumer: EventConsumer<any> | undefined;
  let relay: OutboxRelay | undefined;
  if (events.handlers) {
    consumer = new EventConsumer({
      consumer: service.name,
      connection,
      names,
      handlers: events.handlers,
      transaction: (fn) => events.transaction!(db, fn),
      logger: config.logger,
    });
    await consumer.start();
  }
  if (events.produces) {
    relay = new OutboxRelay({ databaseUrl: config.databaseUrl, connection, names, logger: config.logger });
    await relay.start();
  }
  return {
    relay,
    consumer,
    async close() {
      await relay?.stop();
      await consumer?.stop();
      await connection.close();
    },
  };
}
