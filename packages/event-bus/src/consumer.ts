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
    await this.channel.consume(queue, (msg) => void this.onMessage(msg), { prefetch: this.opts.prefetch ?? 50 });
  }

  async stop(): Promise<void> {
    await this.channel?.close();
  }

  private async onMessage(msg: ConsumeMessage): Promise<void> {
    const generation = this.generation;
    const deliveries = Number(msg.properties.headers?.['x-delivery-count'] ?? 0) + 1;
    let event: IntegrationEvent;
    try {
      event = this.parseEnvelope(msg);
      // Redriven messages arrive through the default exchange and say where they were headed.
      const routingKey = String(msg.properties.headers?.['x-original-routing-key'] ?? msg.fields.routingKey);
      const handler = this.opts.handlers[routingKey];
      if (!handler) throw new PoisonMessageError(`no handler for routing key ${routingKey}`);
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
