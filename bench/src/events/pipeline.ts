/**
 * The integration-event pipeline as a Mercado service runs it, on databases and a broker
 * prefix of its own: writers change an aggregate and append its event to the outbox in one
 * transaction, the OutboxRelay publishes with confirms, an EventConsumer applies each event to
 * a read model in another database (inbox + version-guarded upsert, one transaction each).
 * Plain pg stands in for Prisma on both sides, as in packages/event-bus/test/harness.ts.
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
  OutboxRelay,
  parsePayload,
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
    "aggregateId" TEXT NOT NULL, "version" INTEGER NOT NULL, "occurredAt" TIMESTAMPTZ(3) NOT NULL, "payload" JSONB NOT NULL,
    "publishedAt" TIMESTAMPTZ(3));
  CREATE UNIQUE INDEX "OutboxEvent_id_key" ON "OutboxEvent"("id");
  CREATE INDEX "OutboxEvent_publishedAt_position_idx" ON "OutboxEvent"("publishedAt", "position");
  CREATE TABLE "Item" ("id" TEXT PRIMARY KEY, "name" TEXT NOT NULL, "priceCents" INTEGER NOT NULL, "version" INTEGER NOT NULL);`;
const consumerSchema = `
  CREATE TABLE "InboxEvent" ("id" UUID PRIMARY KEY, "type" TEXT NOT NULL, "receivedAt" TIMESTAMPTZ(3) NOT NULL);
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

type SqlTx = { $executeRaw(strings: TemplateStringsArray, ...values: unknown[]): Promise<number>; event?: { id: string; occurredAt: string } };

/** When one event passed each point on its way (epoch ms), for the lag's breakdown. */
interface Trace {
  occurred: number;
  committed?: number;
  confirmed?: number;
  consumerStarted?: number;
  applied?: number;
}

/** Prisma's $executeRaw tagged template over a pg client. */
function sqlTx(client: pg.PoolClient): SqlTx {
  return {
    async $executeRaw(strings, ...values) {
      const text = strings.reduce((acc, s, i) => acc + s + (i < values.length ? `$${i + 1}` : ''), '');
      return (await client.query(text, values)).rowCount ?? 0;
    },
  };
}

export interface PipelineOptions {
  amqpUrl: string;
  postgresUrl: string;
  writers: number;
  relayBatchSize: number;
  prefetch: number;
  consumerConnections: number;
}

export interface Counters {
  written: number;
  published: number;
  applied: number;
}

const emptyStats = () => ({ relayBatches: 0, relayEvents: 0, consumerTransactions: 0, consumerInFlightSum: 0, consumerInFlightMax: 0 });

/** Mean events per relay batch, and messages the consumer was applying at once (holding or awaiting a connection). */
export function describeStats(stats: ReturnType<typeof emptyStats>) {
  return {
    eventsPerRelayBatch: stats.relayBatches ? Math.round((10 * stats.relayEvents) / stats.relayBatches) / 10 : null,
    consumerTransactionsAtOnce: stats.consumerTransactions ? Math.round((10 * stats.consumerInFlightSum) / stats.consumerTransactions) / 10 : null,
    consumerTransactionsAtOnceMax: stats.consumerInFlightMax,
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
  private inFlight = 0;
  /** Follows every event written while on (the paced phase), for lagBreakdown(). */
  tracing = false;
  private traces = new Map<string, Trace>();
  /** Replication lag of every event applied since the last reset, ms. */
  lagSamples: number[] = [];

  constructor(private readonly opts: PipelineOptions) {
    this.producerUrl = withDatabase(opts.postgresUrl, `mercado_bench_${this.id}_producer`);
    this.consumerUrl = withDatabase(opts.postgresUrl, `mercado_bench_${this.id}_consumer`);
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
    this.consumerPool = new pg.Pool({ connectionString: this.consumerUrl, max: this.opts.consumerConnections });
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
        [ROUTING_KEY]: async (event, tx) => {
          const { name, priceCents } = parsePayload(itemChanged, event);
          tx.event = event;
          await tx.$executeRaw`
            INSERT INTO "ItemReplica" ("id", "name", "priceCents", "version") VALUES (${event.aggregateId}, ${name}, ${priceCents}, ${event.version})
            ON CONFLICT ("id") DO UPDATE SET "name" = EXCLUDED."name", "priceCents" = EXCLUDED."priceCents", "version" = EXCLUDED."version"
            WHERE "ItemReplica"."version" < EXCLUDED."version"`;
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
      afterConfirm: (events) => {
        if (!this.tracing) return;
        const now = Date.now();
        for (const e of events) {
          const trace = this.traces.get(e.id);
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
    // Messages being applied at once, whether they hold a connection yet or wait for one.
    this.stats.consumerTransactions++;
    this.stats.consumerInFlightSum += ++this.inFlight;
    this.stats.consumerInFlightMax = Math.max(this.stats.consumerInFlightMax, this.inFlight);
    const started = Date.now();
    try {
      const client = await this.consumerPool!.connect();
      try {
        await client.query('BEGIN');
        const tx = sqlTx(client);
        const result = await fn(tx);
        await client.query('COMMIT');
        if (tx.event) {
          const now = Date.now();
          this.lagSamples.push(now - Date.parse(tx.event.occurredAt));
          const trace = this.tracing ? this.traces.get(tx.event.id) : undefined;
          if (trace) Object.assign(trace, { consumerStarted: started, applied: now });
        }
        return result;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => {});
        throw err;
      } finally {
        client.release();
      }
    } finally {
      this.inFlight--;
    }
  }

  /** A state change and its event, in one transaction of the producer's database. */
  private async writeOne(writer: number, n: number): Promise<void> {
    const client = await this.producer!.connect();
    try {
      await client.query('BEGIN');
      // Each writer has its own items, so writers never wait on each other's row locks.
      const id = `w${writer}-item-${n % 1000}`;
      const payload = payloadFor(n);
      const { rows } = await client.query<{ version: number }>(
        `INSERT INTO "Item" ("id", "name", "priceCents", "version") VALUES ($1, $2, $3, 1)
         ON CONFLICT ("id") DO UPDATE SET "name" = EXCLUDED."name", "priceCents" = EXCLUDED."priceCents", "version" = "Item"."version" + 1
         RETURNING "version"`,
        [id, payload.name, payload.priceCents],
      );
      const event = newEvent('bench', 'ItemChanged', id, rows[0]!.version, payload);
      await appendToOutbox(sqlTx(client), event);
      const trace: Trace | undefined = this.tracing ? { occurred: Date.parse(event.occurredAt) } : undefined;
      if (trace) this.traces.set(event.id, trace);
      await client.query('COMMIT');
      if (trace) trace.committed = Date.now();
      this.written++;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      throw err;
    } finally {
      client.release();
    }
  }

  /** Every writer writes as fast as it can until `until` returns true. */
  async writeFlatOut(until: () => boolean): Promise<void> {
    await Promise.all(
      Array.from({ length: this.opts.writers }, async (_, w) => {
        for (let n = 0; !until(); n++) await this.writeOne(w, n);
      }),
    );
  }

  /**
   * Offers `rate` events a second for `seconds`: event k is due at start + k/rate, taken by
   * whichever writer is free. A writer that is late does not catch up in a burst: the offered
   * rate is what it is, and the caller reports it.
   */
  async writePaced(rate: number, seconds: number): Promise<{ offered: number; seconds: number }> {
    const start = performance.now();
    const total = Math.floor(rate * seconds);
    let next = 0;
    const before = this.written;
    await Promise.all(
      Array.from({ length: this.opts.writers }, async (_, w) => {
        for (let k = next++; k < total; k = next++) {
          const wait = start + (k * 1000) / rate - performance.now();
          if (wait > 0) await sleep(wait);
          await this.writeOne(w, k);
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
