import type { ChannelWrapper } from 'amqp-connection-manager';
import type { ConfirmChannel, ConsumeMessage } from 'amqplib';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { AmqpConnectionManager } from './connection.ts';
import { envelopeSchema, type IntegrationEvent } from './envelope.ts';
import { LagRecorder } from './lag.ts';
import { assertConsumerTopology, type TopologyNames } from './topology.ts';

/** A message no retry can fix (malformed, fails validation): parked at once, with the reason. */
export class PoisonMessageError extends Error {}

/** Validates the payload fields a consumer reads; a mismatch is poison, not a transient error. */
export function parsePayload<T>(schema: z.ZodType<T>, event: IntegrationEvent): T {
  const result = schema.safeParse(event.payload);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    throw new PoisonMessageError(`${event.type} payload invalid at ${issue.path.join('.') || '(root)'}: ${issue.message}`);
  }
  return result.data;
}

/** The transaction a handler runs in: the service's own Prisma transaction client. */
export interface InboxTransaction {
  $executeRaw(query: TemplateStringsArray, ...values: unknown[]): PromiseLike<number>;
}

export type EventHandler<Tx> = (event: IntegrationEvent, tx: Tx) => Promise<void>;

export interface EventConsumerOptions<Tx extends InboxTransaction> {
  /** The consuming service, e.g. orders: names its queue and parking lot. */
  consumer: string;
  connection: AmqpConnectionManager;
  names: TopologyNames;
  /** Handlers by routing key (`<source>.<Type>`); the queue is bound to exactly these. */
  handlers: Record<string, EventHandler<Tx>>;
  /** Runs fn in one database transaction (Prisma's interactive $transaction). */
  transaction: <T>(fn: (tx: Tx) => Promise<T>) => Promise<T>;
  logger: Logger;
  /** Deliveries before a failing message is parked. */
  maxDeliveries?: number;
  prefetch?: number;
}

/**
 * Applies integration events to a service's read model, exactly once in effect:
 * - the event id goes into the service's "InboxEvent" table in the same transaction as the
 *   handler's effect, so a redelivered event finds its id there and changes nothing;
 * - handlers write with a version guard (`... WHERE version < new version`), so an older event
 *   arriving late never overwrites a newer state;
 * - a message that keeps failing is moved to the parking lot with the reason after
 *   `maxDeliveries` attempts (at once when it is poison), and is acked only after the parking
 *   lot confirmed it: nothing is acked and dropped.
 */
export class EventConsumer<Tx extends InboxTransaction> {
  readonly lag: LagRecorder;
  private channel?: ChannelWrapper;
  /** Bumped on every (re)connect: deliveries from a dead channel must not be acked on the new one. */
  private generation = 0;
  private applied = 0;

  constructor(private readonly opts: EventConsumerOptions<Tx>) {
    this.lag = new LagRecorder(opts.consumer);
  }

  get appliedCount(): number {
    return this.applied;
  }

  async start(): Promise<void> {
    const { names, consumer } = this.opts;
    const queue = names.queue(consumer);
    this.channel = this.opts.connection.createChannel({
      json: false,
      confirm: true,
      setup: async (ch: ConfirmChannel) => {
        this.generation++;
        await assertConsumerTopology(ch, names, consumer, Object.keys(this.opts.handlers), this.opts.maxDeliveries ?? 5);
      },
    });
    await this.channel.waitForConnect();
    await this.channel.consume(queue, (msg) => this.enqueue(msg), { prefetch: this.opts.prefetch ?? 50 });
  }

  private pending: Array<{ msg: ConsumeMessage; generation: number }> = [];
  private flushing = false;
  private flushScheduled = false;

  /**
   * Deliveries are applied in batches: everything that arrived while the previous batch was
   * committing goes into one transaction (one BEGIN/COMMIT and one disk flush for many events,
   * instead of one each). A batch that fails is retried message by message, so one bad message
   * is retried, parked or applied on its own and never holds back the others.
   */
  private enqueue(msg: ConsumeMessage): void {
    this.pending.push({ msg, generation: this.generation });
    this.scheduleFlush();
  }

  private scheduleFlush(): void {
    if (this.flushScheduled || this.flushing) return;
    this.flushScheduled = true;
    setImmediate(() => void this.flush());
  }

  private async flush(): Promise<void> {
    this.flushScheduled = false;
    this.flushing = true;
    const batch = this.pending.splice(0, this.opts.prefetch ?? 50);
    try {
      if (batch.length === 1) await this.onMessage(batch[0]!.msg, batch[0]!.generation);
      else await this.applyBatch(batch);
    } finally {
      this.flushing = false;
      if (this.pending.length) this.scheduleFlush();
    }
  }

  private async applyBatch(batch: Array<{ msg: ConsumeMessage; generation: number }>): Promise<void> {
    const ready: Array<{ msg: ConsumeMessage; generation: number; event: IntegrationEvent; handler: EventHandler<Tx> }> = [];
    const alone: typeof batch = [];
    for (const item of batch) {
      try {
        const { event, handler } = this.route(item.msg);
        ready.push({ ...item, event, handler });
      } catch {
        alone.push(item); // poison: parked by the single-message path, with its reason
      }
    }
    let fresh: boolean[] | undefined;
    try {
      fresh = await this.opts.transaction(async (tx) => {
        const applied: boolean[] = [];
        for (const { event, handler } of ready) {
          const inserted = await tx.$executeRaw`
            INSERT INTO "InboxEvent" ("id", "type", "receivedAt") VALUES (${event.id}::uuid, ${event.type}, now())
            ON CONFLICT ("id") DO NOTHING`;
          if (inserted > 0) await handler(event, tx);
          applied.push(inserted > 0);
        }
        return applied;
      });
    } catch {
      alone.push(...ready); // someone in the batch failed: find out who, one by one
    }
    if (fresh) {
      ready.forEach(({ msg, generation, event }, i) => {
        if (fresh![i]) {
          this.applied++;
          this.lag.record(event.type, event.occurredAt);
        }
        this.settle(generation, () => this.channel!.ack(msg));
      });
    }
    for (const { msg, generation } of alone) await this.onMessage(msg, generation);
  }

  /** Parses the envelope and finds the handler; PoisonMessageError when either is impossible. */
  private route(msg: ConsumeMessage): { event: IntegrationEvent; handler: EventHandler<Tx> } {
    const event = this.parseEnvelope(msg);
    // Redriven messages arrive through the default exchange and say where they were headed.
    const routingKey = String(msg.properties.headers?.['x-original-routing-key'] ?? msg.fields.routingKey);
    const handler = this.opts.handlers[routingKey];
    if (!handler) throw new PoisonMessageError(`no handler for routing key ${routingKey}`);
    return { event, handler };
  }

  async stop(): Promise<void> {
    await this.channel?.close();
  }

  private async onMessage(msg: ConsumeMessage, generation: number): Promise<void> {
    const deliveries = Number(msg.properties.headers?.['x-delivery-count'] ?? 0) + 1;
    let event: IntegrationEvent;
    try {
      const routed = this.route(msg);
      event = routed.event;
      const handler = routed.handler;
      const fresh = await this.opts.transaction(async (tx) => {
        const inserted = await tx.$executeRaw`
          INSERT INTO "InboxEvent" ("id", "type", "receivedAt") VALUES (${event.id}::uuid, ${event.type}, now())
          ON CONFLICT ("id") DO NOTHING`;
        if (inserted === 0) return false;
        await handler(event, tx);
        return true;
      });
      if (fresh) {
        this.applied++;
        this.lag.record(event.type, event.occurredAt);
      }
      this.settle(generation, () => this.channel!.ack(msg));
    } catch (err) {
      const poison = err instanceof PoisonMessageError;
      const maxDeliveries = this.opts.maxDeliveries ?? 5;
      if (poison || deliveries >= maxDeliveries) {
        await this.park(msg, generation, poison ? (err as Error).message : `failed ${deliveries} times; last error: ${errorText(err)}`);
      } else {
        this.opts.logger.warn({ err, messageId: msg.properties.messageId, deliveries }, 'event handler failed; will be redelivered');
        this.settle(generation, () => this.channel!.nack(msg, false, true));
      }
    }
  }

  private parseEnvelope(msg: ConsumeMessage): IntegrationEvent {
    let json: unknown;
    try {
      json = JSON.parse(msg.content.toString('utf8'));
    } catch {
      throw new PoisonMessageError('message body is not JSON');
    }
    const result = envelopeSchema.safeParse(json);
    if (!result.success) {
      const issue = result.error.issues[0]!;
      throw new PoisonMessageError(`not an integration event: ${issue.path.join('.') || '(root)'}: ${issue.message}`);
    }
    return result.data as IntegrationEvent;
  }

  private async park(msg: ConsumeMessage, generation: number, reason: string): Promise<void> {
    const parkingLot = this.opts.names.parkingLot(this.opts.consumer);
    this.opts.logger.error({ messageId: msg.properties.messageId, routingKey: msg.fields.routingKey, reason }, 'event parked');
    try {
      await this.channel!.sendToQueue(parkingLot, msg.content, {
        ...msg.properties,
        persistent: true,
        headers: {
          ...msg.properties.headers,
          'x-parked-reason': reason,
          'x-parked-at': new Date().toISOString(),
          'x-original-routing-key': msg.fields.routingKey,
        },
      });
      this.settle(generation, () => this.channel!.ack(msg));
    } catch (err) {
      // Not parked, so not acked either: it comes back and we try again.
      this.opts.logger.warn({ err }, 'could not park a message; leaving it for redelivery');
      this.settle(generation, () => this.channel!.nack(msg, false, true));
    }
  }

  private settle(generation: number, fn: () => void): void {
    // After a reconnect the broker redelivers whatever this channel had not settled.
    if (generation === this.generation) fn();
  }
}

function errorText(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).slice(0, 500);
}
