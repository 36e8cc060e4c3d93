import pg from 'pg';
import type { ChannelWrapper } from 'amqp-connection-manager';
import type { ConfirmChannel } from 'amqplib';
import type { Logger } from 'pino';
import type { AmqpConnectionManager } from './connection.ts';
import { routingKeyOf, type IntegrationEvent } from './envelope.ts';
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
  /** Test seam: runs after the broker confirmed a batch and before it is marked sent. */
  afterConfirm?: (events: IntegrationEvent[]) => Promise<void> | void;
}

interface OutboxRow {
  position: string;
  id: string;
  type: string;
  source: string;
  aggregateId: string;
  version: number;
  occurredAt: Date;
  payload: unknown;
}

/**
 * Publishes committed outbox rows to the events exchange with publisher confirms, and marks
 * them sent only after the broker confirmed them. A crash in between publishes them again on
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
  private wake?: () => void;
  private loop?: Promise<void>;
  private published = 0;

  constructor(private readonly opts: OutboxRelayOptions) {
    this.pool = new pg.Pool({ connectionString: opts.databaseUrl, max: 2 });
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
      publishTimeout: this.opts.publishTimeoutMs ?? 10_000,
      setup: (ch: ConfirmChannel) => assertEventsExchange(ch, this.opts.names),
    });
    await this.channel.waitForConnect();
    await this.listen();
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.wake?.();
    await this.loop;
    await this.listener?.end().catch(() => {});
    await this.channel?.close();
    await this.pool.end();
  }

  private async listen(): Promise<void> {
    const client = new pg.Client({ connectionString: this.opts.databaseUrl });
    client.on('notification', () => this.wake?.());
    client.on('error', (err) => {
      this.opts.logger.warn({ err }, 'outbox listener lost; relying on polling until it reconnects');
      this.listener = undefined;
      setTimeout(() => this.running && void this.listen().catch(() => {}), 1000);
    });
    await client.connect();
    await client.query(`LISTEN ${OUTBOX_CHANNEL}`);
    this.listener = client;
  }

  private async run(): Promise<void> {
    const poll = this.opts.pollIntervalMs ?? 1000;
    while (this.running) {
      let sent = 0;
      try {
        sent = await this.publishBatch();
      } catch (err) {
        this.opts.logger.warn({ err }, 'outbox batch failed; will retry');
        await new Promise((r) => setTimeout(r, 500));
      }
      if (sent > 0) continue; // more may be waiting
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, poll);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  /** Publishes one batch; returns how many events were sent. */
  async publishBatch(): Promise<number> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const { rows } = await client.query<OutboxRow>(
        `SELECT "position", "id", "type", "source", "aggregateId", "version", "occurredAt", "payload"
           FROM "OutboxEvent" WHERE "publishedAt" IS NULL
          ORDER BY "position" LIMIT $1 FOR UPDATE SKIP LOCKED`,
        [this.opts.batchSize ?? 500],
      );
      if (rows.length === 0) {
        await client.query('COMMIT');
        return 0;
      }
      const events = rows.map(toEvent);
      await Promise.all(
        events.map((event) =>
          this.channel!.publish(this.opts.names.exchange, routingKeyOf(event), Buffer.from(JSON.stringify(event)), {
            persistent: true,
            contentType: 'application/json',
            messageId: event.id,
            type: event.type,
            appId: event.source,
            timestamp: Math.floor(Date.parse(event.occurredAt) / 1000),
          }),
        ),
      );
      await this.opts.afterConfirm?.(events);
      await client.query(`UPDATE "OutboxEvent" SET "publishedAt" = now() WHERE "position" = ANY($1::bigint[])`, [rows.map((r) => r.position)]);
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

function toEvent(row: OutboxRow): IntegrationEvent {
  return {
    id: row.id,
    type: row.type,
    source: row.source,
    aggregateId: row.aggregateId,
    version: row.version,
    occurredAt: row.occurredAt.toISOString(),
    payload: row.payload,
  };
}
