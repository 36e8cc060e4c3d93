/**
 * The integration-event pipeline as a Mercado service runs it, on databases and a broker
 * prefix of its own: writers change items and append their events to the outbox in the same
 * transaction, the OutboxRelay publishes with confirms, an EventConsumer applies the events to
 * a read model in another database (inbox + version-guarded multi-row upsert, one transaction
 * per batch of deliveries), as Mercado's replicas do. Plain pg stands in for Prisma on both
 * sides, through the event bus's pgSql.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { pino } from 'pino';
import { z } from 'zod';
import { dropDatabase, ensureDatabase, withDatabase } from '@mercado/db';
import {
  appendToOutbox,
  connectToBroker,
  declareTopology,
  deleteTopology,
  EventConsumer,
  newEvent,
  newestPerAggregate,
  OutboxRelay,
  parsePayload,
  pgSql,
  pgTransaction,
  type PgSql,
  topologyNames,
  type AmqpConnectionManager,
} from '@mercado/event-bus';
import { percentiles, sleep } from './measure.ts';

const CONSUMER = 'replica';
const ROUTING_KEY = 'bench.ItemChanged';
const silent = pino({ level: process.env.LOG_LEVEL ?? 'silent' });

/** The tables every Mercado service has (as in its migration), plus a small aggregate and its replica. */
const producerSchema = `
  CREATE TABLE "OutboxEvent" ("position" BIGSERIAL PRIMARY KEY, "id" UUID NOT NULL, "type" TEXT NOT NULL, "source" TEXT NOT NULL,
    "aggregateId" TEXT NOT NULL, "version" INTEGER NOT NULL, "occurredAt" TIMESTAMPTZ(3) NOT NULL, "payload" JSONB NOT NULL, "traceparent" TEXT);
  CREATE TABLE "Item" ("id" TEXT PRIMARY KEY, "name" TEXT NOT NULL, "priceCents" INTEGER NOT NULL, "version" INTEGER NOT NULL);`;
const consumerSchema = `
  CREATE TABLE "InboxEvent" ("id" UUID PRIMARY KEY, "type" TEXT NOT NULL, "receivedAt" TIMESTAMPTZ(3) NOT NULL);
  CREATE INDEX "InboxEvent_receivedAt_idx" ON "InboxEvent" ("receivedAt");
  CREATE TABLE "ItemReplica" ("id" TEXT PRIMARY KEY, "name" TEXT NOT NULL, "priceCents" INTEGER NOT NULL, "version" INTEGER NOT NULL);`;

/** What the consumer reads from the payload: validated, as every Mercado consumer does. */
const itemChanged = z.object({ name: z.string(), priceCents: z.number().int(), currency: z.string().length(3) });

/** A realistic payload: about what ProductPriceChanged carries. */
const payloadFor = (n: number) => ({
  name: `Item ${n % 1000} of the benchmark catalogue`,
  priceCents: 500 + (n % 9500),
  currency: 'EUR',
  category: 'benchmark',
});

/** The bytes one event takes on the wire, so that the raw phase sends messages of the same size. */
export function eventMessageBytes(): number {
  return Buffer.byteLength(JSON.stringify(newEvent('bench', 'ItemChanged', 'w0-item-123', 123, payloadFor(123))));
}

/** The consumer's transaction, which notes the events it applied for the lag. */
type SqlTx = PgSql & { events?: Array<{ id: string; occurredAt: string }> };

/** When one event passed each point on its way (epoch ms), for the lag's breakdown. */
interface Trace {
  occurred: number;
  committed?: number;
  confirmed?: number;
  consumerStarted?: number;
  applied?: number;
}

export interface PipelineOptions {
  amqpUrl: string;
  postgresUrl: string;
  writers: number;
  relayBatchSize: number;
  prefetch: number;
}

export interface Counters {
  written: number;
  published: number;
  applied: number;
}

const emptyStats = () => ({ relayBatches: 0, relayEvents: 0, consumerTransactions: 0, consumerEvents: 0, consumerEventsMax: 0 });

/** Mean events per relay batch and per consumer transaction (the consumer's batches). */
export function describeStats(stats: ReturnType<typeof emptyStats>) {
  return {
    eventsPerRelayBatch: stats.relayBatches ? Math.round((10 * stats.relayEvents) / stats.relayBatches) / 10 : null,
    eventsPerConsumerTransaction: stats.consumerTransactions ? Math.round((10 * stats.consumerEvents) / stats.consumerTransactions) / 10 : null,
    eventsPerConsumerTransactionMax: stats.consumerEventsMax,
  };
}

export class EventsPipeline {
  private readonly id = randomBytes(5).toString('hex');
  private readonly prefix = `mercado-bench-${this.id}`;
  private readonly producerUrl: string;
  private readonly consumerUrl: string;
  private producer?: pg.Pool;
  private consumerPool?: pg.Pool;
  private connections: AmqpConnectionManager[] = [];
  private relay?: OutboxRelay;
  private relayConnection?: AmqpConnectionManager;
  /** Published by relays stopped before the current one. */
  private publishedBefore = 0;
  private consumer?: EventConsumer<SqlTx>;
  private written = 0;
  private topologyDeclared = false;
  private databasesCreated = false;
  /** How the relay batched and how many consumer transactions ran at once, since the last reset. */
  stats = emptyStats();
  /** Follows every event written while on (the paced phase), for lagBreakdown(). */
  tracing = false;
  private traces = new Map<string, Trace>();
  /** Replication lag of every event applied since the last reset, ms. */
  lagSamples: number[] = [];

  constructor(private readonly opts: PipelineOptions) {
    this.producerUrl = withDatabase(opts.postgresUrl, `mercado_bench_${this.id}_producer`);
    this.consumerUrl = withDatabase(opts.postgresUrl, `mercado_bench_${this.id}_consumer`);
  }

  /** Forgets the traced events, so that lagBreakdown() covers the next paced phase alone. */
  clearTraces(): void {
    this.traces.clear();
  }

  resetStats(): void {
    this.stats = emptyStats();
  }

  counters(): Counters {
    return { written: this.written, published: this.publishedBefore + (this.relay?.publishedCount ?? 0), applied: this.consumer?.appliedCount ?? 0 };
  }

  async start(): Promise<void> {
    this.databasesCreated = true;
    await ensureDatabase(this.producerUrl);
    await ensureDatabase(this.consumerUrl);
    this.producer = new pg.Pool({ connectionString: this.producerUrl, max: this.opts.writers });
    this.consumerPool = new pg.Pool({ connectionString: this.consumerUrl, max: 2 });
    await this.producer.query(producerSchema);
    await this.consumerPool.query(consumerSchema);

    this.topologyDeclared = true;
    await declareTopology(this.opts.amqpUrl, this.prefix, [{ name: CONSUMER, routingKeys: [ROUTING_KEY] }]);
    const names = topologyNames(this.prefix);
    // One connection per side, as the producing and the consuming service each have their own.
    const consumerConnection = connectToBroker(this.opts.amqpUrl, silent, `${this.prefix}-consumer`);
    const relayConnection = connectToBroker(this.opts.amqpUrl, silent, `${this.prefix}-relay`);
    this.connections.push(consumerConnection, relayConnection);

    this.consumer = new EventConsumer<SqlTx>({
      consumer: CONSUMER,
      connection: consumerConnection,
      names,
      logger: silent,
      prefetch: this.opts.prefetch,
      transaction: (fn) => this.consumerTransaction(fn),
      handlers: {
        // As Mercado's replicas do: the run's newest state per item in one multi-row upsert.
        [ROUTING_KEY]: {
          batch: async (events, tx) => {
            tx.events = events;
            const items = newestPerAggregate(events).map((event) => ({ event, ...parsePayload(itemChanged, event) }));
            await tx.$executeRaw`
              INSERT INTO "ItemReplica" ("id", "name", "priceCents", "version")
              SELECT * FROM unnest(${items.map((i) => i.event.aggregateId)}::text[], ${items.map((i) => i.name)}::text[],
                ${items.map((i) => i.priceCents)}::int[], ${items.map((i) => i.event.version)}::int[])
              ON CONFLICT ("id") DO UPDATE SET "name" = EXCLUDED."name", "priceCents" = EXCLUDED."priceCents", "version" = EXCLUDED."version"
              WHERE "ItemReplica"."version" < EXCLUDED."version"`;
          },
        },
      },
    });
    await this.consumer.start();
    this.relayConnection = relayConnection;
    await this.startRelay();
  }

  /** Starts publishing the outbox (again); the profile stops it to time the writers alone. */
  async startRelay(): Promise<void> {
    this.relay = new OutboxRelay({
      databaseUrl: this.producerUrl,
      connection: this.relayConnection!,
      names: topologyNames(this.prefix),
      logger: silent,
      batchSize: this.opts.relayBatchSize,
      afterConfirm: (eventIds) => {
        if (!this.tracing) return;
        const now = Date.now();
        for (const id of eventIds) {
          const trace = this.traces.get(id);
          if (trace) trace.confirmed = now;
        }
      },
    });
    // Counts batches, to tell how well the relay batches at a given rate.
    const publishBatch = this.relay.publishBatch.bind(this.relay);
    this.relay.publishBatch = async () => {
      const sent = await publishBatch();
      if (sent > 0) {
        this.stats.relayBatches++;
        this.stats.relayEvents += sent;
      }
      return sent;
    };
    await this.relay.start();
  }

  async stopRelay(): Promise<void> {
    this.publishedBefore += this.relay?.publishedCount ?? 0;
    await this.relay?.stop();
    this.relay = undefined;
  }

  /** The consumer's transaction; the lag is taken once its COMMIT has returned. */
  private async consumerTransaction<T>(fn: (tx: SqlTx) => Promise<T>): Promise<T> {
    const started = Date.now();
    let events: NonNullable<SqlTx['events']> = [];
    const result = await pgTransaction(this.consumerPool!)(async (client) => {
      const tx: SqlTx = client;
      const value = await fn(tx);
      events = tx.events ?? [];
      return value;
    });
    const now = Date.now();
    this.stats.consumerTransactions++;
    this.stats.consumerEvents += events.length;
    this.stats.consumerEventsMax = Math.max(this.stats.consumerEventsMax, events.length);
    for (const event of events) {
      this.lagSamples.push(now - Date.parse(event.occurredAt));
      const trace = this.tracing ? this.traces.get(event.id) : undefined;
      if (trace) Object.assign(trace, { consumerStarted: started, applied: now });
    }
    return result;
  }

  /**
   * One business transaction in the producer's database: `count` items change and their events
   * go to the outbox, committed together (one event per commit is an order placed or a price
   * changed; many is a bulk price update or an import).
   */
  private async writeCommit(writer: number, first: number, count: number): Promise<void> {
    const client = await this.producer!.connect();
    try {
      await client.query('BEGIN');
      // Each writer has its own items, so writers never wait on each other's row locks.
      const changes = Array.from({ length: count }, (_, i) => ({ id: `w${writer}-item-${(first + i) % 1000}`, payload: payloadFor(first + i) }));
      const { rows } = await client.query<{ id: string; version: number }>(
        `INSERT INTO "Item" ("id", "name", "priceCents", "version") SELECT *, 1 FROM unnest($1::text[], $2::text[], $3::int[])
         ON CONFLICT ("id") DO UPDATE SET "name" = EXCLUDED."name", "priceCents" = EXCLUDED."priceCents", "version" = "Item"."version" + 1
         RETURNING "id", "version"`,
        [changes.map((c) => c.id), changes.map((c) => c.payload.name), changes.map((c) => c.payload.priceCents)],
      );
      const versions = new Map(rows.map((r) => [r.id, r.version]));
      const events = changes.map((c) => newEvent('bench', 'ItemChanged', c.id, versions.get(c.id)!, c.payload));
      await appendToOutbox(pgSql(client), ...events);
      const traces = this.tracing ? events.map((e) => ({ occurred: Date.parse(e.occurredAt) }) as Trace) : [];
      traces.forEach((trace, i) => this.traces.set(events[i]!.id, trace));
      await client.query('COMMIT');
      const committed = Date.now();
      for (const trace of traces) trace.committed = committed;
      this.written += count;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      throw err;
    } finally {
      client.release();
    }
  }

  /** Every writer commits `eventsPerCommit` events at a time as fast as it can until `until` returns true. */
  async writeFlatOut(until: () => boolean, eventsPerCommit: number): Promise<void> {
    await Promise.all(
      Array.from({ length: this.opts.writers }, async (_, w) => {
        for (let n = 0; !until(); n += eventsPerCommit) await this.writeCommit(w, n, eventsPerCommit);
      }),
    );
  }

  /**
   * Offers `rate` events a second for `seconds`, `eventsPerCommit` to a transaction: commit c is
   * due at start + c * eventsPerCommit / rate, taken by whichever writer is free. A writer that is
   * late does not catch up in a burst: the offered rate is what it is, and the caller reports it.
   */
  async writePaced(rate: number, seconds: number, eventsPerCommit: number): Promise<{ offered: number; seconds: number }> {
    const start = performance.now();
    const commits = Math.floor((rate * seconds) / eventsPerCommit);
    let next = 0;
    const before = this.written;
    await Promise.all(
      Array.from({ length: this.opts.writers }, async (_, w) => {
        for (let c = next++; c < commits; c = next++) {
          const wait = start + (c * eventsPerCommit * 1000) / rate - performance.now();
          if (wait > 0) await sleep(wait);
          await this.writeCommit(w, c * eventsPerCommit, eventsPerCommit);
        }
      }),
    );
    const elapsed = (performance.now() - start) / 1000;
    return { offered: this.written - before, seconds: elapsed };
  }

  /**
   * Where the lag of the traced events went, p50 and p99 ms per leg: the producer's transaction
   * (occurredAt is taken before it begins), the outbox until the broker confirmed the relay's
   * batch, the broker until the consumer's transaction began, and that transaction.
   * (A consumer may get a message before the relay has its confirm: that leg can be negative.)
   */
  lagBreakdown() {
    const legs = { write: [] as number[], relay: [] as number[], broker: [] as number[], consume: [] as number[] };
    for (const t of this.traces.values()) {
      if (t.committed === undefined || t.confirmed === undefined || t.consumerStarted === undefined || t.applied === undefined) continue;
      legs.write.push(t.committed - t.occurred);
      legs.relay.push(t.confirmed - t.committed);
      legs.broker.push(t.consumerStarted - t.confirmed);
      legs.consume.push(t.applied - t.consumerStarted);
    }
    const median = (xs: number[]) => percentiles(xs).p50;
    const p99 = (xs: number[]) => percentiles(xs).p99;
    return {
      events: legs.write.length,
      p50: { write: median(legs.write), relay: median(legs.relay), broker: median(legs.broker), consume: median(legs.consume) },
      p99: { write: p99(legs.write), relay: p99(legs.relay), broker: p99(legs.broker), consume: p99(legs.consume) },
    };
  }

  /** Waits until everything written has been applied; false after `timeoutMs`. */
  async drain(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (this.counters().applied < this.written) {
      if (Date.now() > deadline) return false;
      await sleep(20);
    }
    return true;
  }

  /** Checks the read model against the source: every item, same version. */
  async replicaMatchesSource(): Promise<boolean> {
    const source = (await this.producer!.query('SELECT "id", "version" FROM "Item" ORDER BY "id"')).rows;
    const replica = (await this.consumerPool!.query('SELECT "id", "version" FROM "ItemReplica" ORDER BY "id"')).rows;
    return JSON.stringify(source) === JSON.stringify(replica);
  }

  async close(): Promise<void> {
    await this.relay?.stop().catch(() => {});
    await this.consumer?.stop().catch(() => {});
    for (const c of this.connections) await c.close().catch(() => {});
    await this.producer?.end().catch(() => {});
    await this.consumerPool?.end().catch(() => {});
    if (this.topologyDeclared) await deleteTopology(this.opts.amqpUrl, this.prefix, [CONSUMER]).catch(() => {});
    if (this.databasesCreated) {
      await dropDatabase(this.producerUrl).catch(() => {});
      await dropDatabase(this.consumerUrl).catch(() => {});
    }
  }
}
