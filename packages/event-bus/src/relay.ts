import { once } from 'node:events';
import pg from 'pg';
import type { ChannelWrapper } from 'amqp-connection-manager';
import type { ConfirmChannel } from 'amqplib';
import type { Logger } from 'pino';
import type { AmqpConnectionManager } from './connection.ts';
import { routingKeyOf } from './envelope.ts';
import { OUTBOX_CHANNEL } from './outbox.ts';
import { assertEventsExchange, type TopologyNames } from './topology.ts';

export interface OutboxRelayOptions {
  databaseUrl: string;
  connection: AmqpConnectionManager;
  names: TopologyNames;
  logger: Logger;
  batchSize?: number;
  /** Fallback poll, for notifications missed while the listener reconnected. */
  pollIntervalMs?: number;
  /** How long a publish may wait for the broker's confirm before the batch is retried. */
  publishTimeoutMs?: number;
  /**
   * Batches in flight at most (4). Under a backlog they overlap one batch's wait for confirms
   * with the others' reading and marking; SKIP LOCKED keeps them apart.
   */
  concurrency?: number;
  /** Test seam: runs with the events' ids after the broker confirmed a batch and before it is deleted. */
  afterConfirm?: (eventIds: string[]) => Promise<void> | void;
}

/** An outbox row as the relay reads it: what the message properties need, and the body. */
interface OutboxMessage {
  position: string;
  id: string;
  type: string;
  source: string;
  /** occurredAt, in seconds (AMQP's timestamp property). */
  timestamp: number;
  body: string;
}

/**
 * Publishes committed outbox rows to the events exchange with publisher confirms, and deletes
 * them only after the broker confirmed them. A crash in between publishes them again on
 * restart: delivery is at least once, and consumers make it once in effect (inbox).
 *
 * Rows are claimed with FOR UPDATE SKIP LOCKED, so several relays over one database share the
 * work without publishing a row twice at the same time.
 */
export class OutboxRelay {
  private readonly pool: pg.Pool;
  private listener?: pg.Client;
  private channel?: ChannelWrapper;
  private running = false;
  private readonly sleepers = new Set<() => void>();
  private loops: Array<Promise<void>> = [];
  private published = 0;
  private readonly batchSize: number;
  /**
   * The confirm channel of the current broker connection, while it is open. The relay publishes
   * on it directly rather than through the wrapper's buffer: the outbox is the buffer, and a
   * batch whose channel went away fails, rolls back and is published again on the next one.
   */
  private live?: ConfirmChannel;

  constructor(private readonly opts: OutboxRelayOptions) {
    this.batchSize = opts.batchSize ?? 500;
    // The relay's own commits only delete rows the broker has confirmed: if PostgreSQL lost the
    // last of them in a crash, those events would be published again, which consumers absorb
    // (inbox). So they need not wait for the disk: one flush less per batch.
    this.pool = new pg.Pool({ connectionString: opts.databaseUrl, max: opts.concurrency ?? 4, options: '-c synchronous_commit=off' });
    this.pool.on('error', (err) => opts.logger.warn({ err }, 'outbox pool error'));
  }

  /** Events published since start. */
  get publishedCount(): number {
    return this.published;
  }

  async start(): Promise<void> {
    this.running = true;
    this.channel = this.opts.connection.createChannel({
      json: false,
      confirm: true,
      setup: async (ch: ConfirmChannel) => {
        await assertEventsExchange(ch, this.opts.names);
        this.live = ch;
        ch.once('close', () => {
          if (this.live === ch) this.live = undefined;
        });
      },
    });
    await this.channel.waitForConnect();
    await this.listen();
    this.loops = Array.from({ length: this.opts.concurrency ?? 4 }, (_, loop) => this.run(loop));
  }

  async stop(): Promise<void> {
    this.running = false;
    this.wakeAll();
    await Promise.all(this.loops);
    await this.listener?.end().catch(() => {});
    await this.channel?.close();
    await this.pool.end();
  }

  private async listen(): Promise<void> {
    const client = new pg.Client({ connectionString: this.opts.databaseUrl });
    client.on('notification', () => this.wakeOne());
    client.on('error', (err) => {
      this.opts.logger.warn({ err }, 'outbox listener lost; relying on polling until it reconnects');
      this.listener = undefined;
      setTimeout(() => this.running && void this.listen().catch(() => {}), 1000);
    });
    await client.connect();
    await client.query(`LISTEN ${OUTBOX_CHANNEL}`);
    this.listener = client;
  }

  /**
   * One publishing loop. A notification wakes one sleeping loop; a loop that found a full batch
   * wakes another, so more batches fly only while a backlog lasts. Loop 0 also polls, for
   * notifications missed while the listener reconnected.
   */
  private async run(loop: number): Promise<void> {
    const poll = this.opts.pollIntervalMs ?? 1000;
    while (this.running) {
      let sent = 0;
      try {
        sent = await this.publishBatch();
      } catch (err) {
        this.opts.logger.warn({ err }, 'outbox batch failed; will retry');
        await new Promise((r) => setTimeout(r, 500));
      }
      if (sent >= this.batchSize) this.wakeOne(); // a backlog: bring in another loop
      if (sent > 0 || !this.running) continue; // more may be waiting (or stop() was called meanwhile)
      await new Promise<void>((resolve) => {
        const wake = () => {
          clearTimeout(timer);
          this.sleepers.delete(wake);
          resolve();
        };
        const timer = loop === 0 ? setTimeout(wake, poll) : undefined;
        this.sleepers.add(wake);
      });
    }
  }

  private wakeOne(): void {
    const [wake] = this.sleepers;
    wake?.();
  }

  private wakeAll(): void {
    for (const wake of [...this.sleepers]) wake();
  }

  /** Publishes the rows on the live channel and resolves once the broker confirmed every one. */
  private async publishConfirmed(rows: OutboxMessage[]): Promise<void> {
    const channel = this.live;
    if (!channel) throw new Error('no broker channel: reconnecting');
    const confirms: Array<Promise<void>> = [];
    for (const row of rows) {
      let written = true;
      confirms.push(
        new Promise<void>((resolve, reject) => {
          written = channel.publish(
            this.opts.names.exchange,
            routingKeyOf(row),
            Buffer.from(row.body),
            { persistent: true, contentType: 'application/json', messageId: row.id, type: row.type, appId: row.source, timestamp: row.timestamp },
            (err) => (err ? reject(err) : resolve()),
          );
        }),
      );
      // The socket's buffer is full: let it drain rather than pile the batch up in memory.
      if (!written) await once(channel, 'drain');
    }
    let timer: NodeJS.Timeout | undefined;
    const timeoutMs = this.opts.publishTimeoutMs ?? 10_000;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`the broker did not confirm ${rows.length} messages within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      await Promise.race([Promise.all(confirms), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Publishes one batch and deletes it once the broker confirmed every message in it; returns
   * how many events were sent. PostgreSQL writes each message body (the envelope as JSON), so
   * the payload is never parsed and serialised again on its way through.
   */
  async publishBatch(): Promise<number> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const { rows } = await client.query<OutboxMessage>({
        // Named: prepared once per connection, not planned again for every batch.
        name: 'mercado-outbox-claim',
        text: `SELECT "position", "id", "type", "source", floor(extract(epoch FROM "occurredAt"))::float8 AS "timestamp",
                json_build_object('id', "id", 'type', "type", 'source', "source", 'aggregateId', "aggregateId", 'version', "version",
                  'occurredAt', to_char("occurredAt" AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'), 'payload', "payload")::text AS "body"
           FROM "OutboxEvent" ORDER BY "position" LIMIT $1 FOR UPDATE SKIP LOCKED`,
        values: [this.batchSize],
      });
      if (rows.length === 0) {
        await client.query('COMMIT');
        return 0;
      }
      await this.publishConfirmed(rows);
      if (this.opts.afterConfirm) await this.opts.afterConfirm(rows.map((row) => row.id));
      await client.query({
        name: 'mercado-outbox-delete',
        text: `DELETE FROM "OutboxEvent" WHERE "position" = ANY($1::bigint[])`,
        values: [rows.map((r) => r.position)],
      });
      await client.query('COMMIT');
      this.published += rows.length;
      return rows.length;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      throw err;
    } finally {
      client.release();
    }
  }
}
