import type { ChannelWrapper } from 'amqp-connection-manager';
import type { ConfirmChannel, ConsumeMessage } from 'amqplib';
import type { Logger } from 'pino';
import { ROOT_CONTEXT, trace, type Span } from '@opentelemetry/api';
import { contextFromHeaders, inSpan, SpanKind, SpanStatusCode, tracer, tracingActive } from '@mercado/telemetry';
import type { z } from 'zod';
import type { AmqpConnectionManager } from './connection.ts';
import { envelopeSchema, type IntegrationEvent } from './envelope.ts';
import { LagRecorder } from './lag.ts';
import { assertConsumerTopology, type TopologyNames } from './topology.ts';
import { logChannelErrors } from './channelErrors.ts';

/** Enough deliveries ahead for the next batch to gather while one commits. */
const DEFAULT_PREFETCH = 1000;
const DEFAULT_MAX_BATCH = 500;
const PRUNE_EVERY_MS = 60 * 60 * 1000;

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
  $queryRaw<T = unknown>(query: TemplateStringsArray, ...values: unknown[]): PromiseLike<T>;
}

/** Applies one event. */
export type EventHandler<Tx> = (event: IntegrationEvent, tx: Tx) => Promise<void>;

/**
 * Applies a run of consecutive events at once, typically with one multi-row statement: what lets
 * a read model keep up with a busy source. It must leave the same state as applying the events
 * one by one in the order given (replicas: newest version per aggregate wins).
 */
export interface BatchEventHandler<Tx> {
  batch: (events: IntegrationEvent[], tx: Tx) => Promise<void>;
}

export type Handler<Tx> = EventHandler<Tx> | BatchEventHandler<Tx>;

/**
 * The newest event of each aggregate in a run, for a batch handler's multi-row upsert (which may
 * touch each row once): with event-carried state, the newest event alone gives the newest state.
 */
export function newestPerAggregate(events: IntegrationEvent[]): IntegrationEvent[] {
  const newest = new Map<string, IntegrationEvent>();
  for (const event of events) {
    const seen = newest.get(event.aggregateId);
    if (!seen || seen.version < event.version) newest.set(event.aggregateId, event);
  }
  return [...newest.values()];
}

export interface EventConsumerOptions<Tx extends InboxTransaction> {
  /** The consuming service, e.g. orders: names its queue and parking lot. */
  consumer: string;
  connection: AmqpConnectionManager;
  names: TopologyNames;
  /** Handlers by routing key (`<source>.<Type>`); the queue is bound to exactly these. */
  handlers: Record<string, Handler<Tx>>;
  /** Runs fn in one database transaction (Prisma's interactive $transaction). */
  transaction: <T>(fn: (tx: Tx) => Promise<T>) => Promise<T>;
  logger: Logger;
  /** Deliveries before a failing message is parked. */
  maxDeliveries?: number;
  /** Unacknowledged deliveries the broker may send ahead: what the next batch is gathered from. */
  prefetch?: number;
  /** Most events applied in one transaction. */
  maxBatch?: number;
  /**
   * Days an applied event's id stays in the inbox (7). Older ids are pruned at start and every
   * hour: by then no redelivery is due, and a redrive from the parking lot after that finds the
   * version guards (replicas) or set semantics (purchases) instead, which make it harmless too.
   */
  inboxRetentionDays?: number;
}

interface Delivery {
  msg: ConsumeMessage;
  generation: number;
}

interface Routed<Tx> extends Delivery {
  event: IntegrationEvent;
  handler: Handler<Tx>;
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
  private pruneTimer?: NodeJS.Timeout;
  /** The channel consumers were last attached on, while it is open. */
  private attachedOn?: ConfirmChannel;
  private stopping = false;
  /** The batch being applied now, if any. */
  private flushed?: Promise<void>;

  constructor(private readonly opts: EventConsumerOptions<Tx>) {
    this.lag = new LagRecorder(opts.consumer);
  }

  get appliedCount(): number {
    return this.applied;
  }

  /**
   * Declares the queue and starts consuming. `waitForBroker: false` returns at once when the
   * broker cannot be reached yet: consuming starts whenever the connection comes up (`attached`
   * tells when).
   */
  async start(options: { waitForBroker?: boolean } = {}): Promise<void> {
    await this.pruneInbox();
    this.pruneTimer = setInterval(() => void this.pruneInbox(), PRUNE_EVERY_MS).unref();
    const { names, consumer } = this.opts;
    const queue = names.queue(consumer);
    let settingUp: ConfirmChannel | undefined;
    this.channel = this.opts.connection.createChannel({
      json: false,
      confirm: true,
      setup: async (ch: ConfirmChannel) => {
        this.generation++;
        settingUp = ch;
        ch.once('close', () => {
          if (this.attachedOn === ch) this.attachedOn = undefined;
        });
        await assertConsumerTopology(ch, names, consumer, Object.keys(this.opts.handlers), this.opts.maxDeliveries ?? 5);
        // Set here, awaited, rather than as consume()'s `prefetch` option: amqp-connection-manager
        // 5.0 sends that one without awaiting it, so a channel that closes while it is in flight
        // rejects a promise nobody holds (seen in CI: "Channel ended, no reply will be
        // forthcoming" after a broker connection loss). The setup runs on every new channel
        // before the consumer is re-attached, so the limit holds after each reconnection.
        await ch.prefetch(this.opts.prefetch ?? DEFAULT_PREFETCH);
      },
    });
    logChannelErrors(this.channel, this.opts.logger, `${consumer} consumer`);
    // Emitted once the setup ran and the consumers are re-attached on the new channel.
    this.channel.on('connect', () => {
      if (settingUp && !this.stopping) this.attachedOn = settingUp;
    });
    if (options.waitForBroker !== false) await this.channel.waitForConnect();
    await this.channel.consume(queue, (msg) => this.enqueue(msg));
  }

  /** Messages waiting in this consumer's parking lot (for /metrics). */
  async parkedCount(): Promise<number> {
    if (!this.channel) return 0;
    return (await this.channel.checkQueue(this.opts.names.parkingLot(this.opts.consumer))).messageCount;
  }

  /** Whether deliveries are flowing: connected, and the consumer attached on the current channel. */
  get attached(): boolean {
    return this.attachedOn !== undefined;
  }

  private pending: Delivery[] = [];
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
    if (this.flushScheduled || this.flushing || this.stopping) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushed = this.flush();
    });
  }

  private async flush(): Promise<void> {
    this.flushScheduled = false;
    if (this.stopping) return; // what is pending goes back to the queue when the channel closes
    this.flushing = true;
    const batch = this.pending.splice(0, this.opts.maxBatch ?? DEFAULT_MAX_BATCH);
    try {
      if (batch.length === 1) await this.onMessage(batch[0]!);
      else await this.applyBatch(batch);
    } finally {
      this.flushing = false;
      if (this.pending.length) this.scheduleFlush();
    }
  }

  private async applyBatch(batch: Delivery[]): Promise<void> {
    const ready: Array<Routed<Tx>> = [];
    const alone: Delivery[] = [];
    for (const delivery of batch) {
      try {
        ready.push({ ...delivery, ...this.route(delivery.msg) });
      } catch {
        alone.push(delivery); // poison: parked by the single-message path, with its reason
      }
    }
    let fresh: boolean[] | undefined;
    // One span per event, each continuing its producer's trace; the batch's transaction links them all.
    const spans = tracingActive() ? ready.map((routed) => this.processSpan(routed.msg)) : undefined;
    try {
      if (ready.length > 0) {
        const links = spans?.map((span) => ({ context: trace.setSpan(ROOT_CONTEXT, span) }));
        fresh = await inSpan('events apply', { attributes: { 'messaging.batch.message_count': ready.length }, ...(links ? { links } : {}) }, () =>
          this.opts.transaction((tx) => applyInTransaction(ready, tx)),
        );
      }
    } catch {
      alone.push(...ready); // someone in the batch failed: find out who, one by one
    } finally {
      for (const span of spans ?? []) {
        if (!fresh) span.setStatus({ code: SpanStatusCode.ERROR, message: 'the batch failed; applied one by one' });
        span.end();
      }
    }
    if (fresh) {
      ready.forEach(({ event }, i) => fresh![i] && this.countApplied(event));
      this.ackAll(ready, alone.length === 0);
    }
    for (const delivery of alone) await this.onMessage(delivery);
  }

  private countApplied(event: IntegrationEvent): void {
    this.applied++;
    this.lag.record(event.type, event.occurredAt);
  }

  /**
   * Acks a batch that committed. When the batch is all that is outstanding on the current
   * channel (every earlier delivery was settled by an earlier batch, none of it is still to be
   * parked), one ack of its last message with `allUpTo` settles it all: one frame instead of one
   * per message, the broker's work per event.
   */
  private ackAll(done: Delivery[], nothingElseOutstanding: boolean): void {
    const current = done.every((d) => d.generation === this.generation);
    if (current && nothingElseOutstanding && done.length > 0) {
      this.channel!.ack(done[done.length - 1]!.msg, true);
      return;
    }
    for (const { msg, generation } of done) this.settle(generation, () => this.channel!.ack(msg));
  }

  /** Parses the envelope and finds the handler; PoisonMessageError when either is impossible. */
  private route(msg: ConsumeMessage): { event: IntegrationEvent; handler: Handler<Tx> } {
    const event = this.parseEnvelope(msg);
    // Redriven messages arrive through the default exchange and say where they were headed.
    const routingKey = routingKeyOfDelivery(msg);
    const handler = this.opts.handlers[routingKey];
    if (!handler) throw new PoisonMessageError(`no handler for routing key ${routingKey}`);
    return { event, handler };
  }

  /**
   * Stops consuming without losing anything: no more deliveries, the batch being applied commits
   * and is acked, and whatever was delivered but not applied goes back to the queue when the
   * channel closes (the broker requeues unacknowledged deliveries), for another replica or the
   * next start.
   */
  async stop(): Promise<void> {
    clearInterval(this.pruneTimer);
    this.stopping = true;
    this.attachedOn = undefined;
    await this.channel?.cancelAll().catch(() => {});
    await this.flushed;
    await this.channel?.close();
  }

  /** Deletes inbox ids older than the retention; returns how many. A failure is logged, not thrown. */
  async pruneInbox(): Promise<number> {
    const days = this.opts.inboxRetentionDays ?? 7;
    try {
      return await this.opts.transaction(async (tx) => tx.$executeRaw`DELETE FROM "InboxEvent" WHERE "receivedAt" < now() - make_interval(days => ${days}::int)`);
    } catch (err) {
      this.opts.logger.warn({ err }, 'could not prune the inbox; will try again in an hour');
      return 0;
    }
  }

  private async onMessage(delivery: Delivery): Promise<void> {
    const { msg, generation } = delivery;
    const deliveries = Number(msg.properties.headers?.['x-delivery-count'] ?? 0) + 1;
    try {
      const routed = { ...delivery, ...this.route(msg) };
      const [fresh] = await inSpan(`${routingKeyOfDelivery(msg)} process`, { kind: SpanKind.CONSUMER, parent: contextFromHeaders(msg.properties.headers), attributes: messagingAttributes(msg) }, () =>
        this.opts.transaction((tx) => applyInTransaction([routed], tx)),
      );
      if (fresh) this.countApplied(routed.event);
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

  /** A consumer span for one delivery, continuing the trace the message's headers carry. */
  private processSpan(msg: ConsumeMessage): Span {
    return tracer.startSpan(`${routingKeyOfDelivery(msg)} process`, { kind: SpanKind.CONSUMER, attributes: messagingAttributes(msg) }, contextFromHeaders(msg.properties.headers));
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

/**
 * Records the events' ids in the inbox (one statement) and applies those seen for the first
 * time, in delivery order, a run of consecutive events with the same batch handler at once.
 * Returns, per event, whether it was applied (false: a redelivery, no effect).
 */
async function applyInTransaction<Tx extends InboxTransaction>(items: Array<Routed<Tx>>, tx: Tx): Promise<boolean[]> {
  const ids = items.map(({ event }) => event.id.toLowerCase());
  const inserted = await tx.$queryRaw<Array<{ id: string }>>`
    INSERT INTO "InboxEvent" ("id", "type", "receivedAt")
    SELECT e."id", e."type", now() FROM unnest(${ids}::uuid[], ${items.map(({ event }) => event.type)}::text[]) AS e("id", "type")
    ON CONFLICT ("id") DO NOTHING
    RETURNING "id"`;
  const firstTime = new Set(inserted.map((row) => row.id));
  // The same event twice in one batch (published again after a relay crash) is applied once.
  const applied = ids.map((id) => firstTime.delete(id));
  for (let start = 0; start < items.length; ) {
    const handler = items[start]!.handler;
    let end = start;
    while (end < items.length && items[end]!.handler === handler) end++;
    const run = items.slice(start, end).filter((_, k) => applied[start + k]).map(({ event }) => event);
    if (run.length > 0) {
      if (typeof handler === 'function') for (const event of run) await handler(event, tx);
      else await handler.batch(run, tx);
    }
    start = end;
  }
  return applied;
}

function errorText(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).slice(0, 500);
}

/** Where a delivery was headed (a redriven one says so in a header). */
const routingKeyOfDelivery = (msg: ConsumeMessage) => String(msg.properties.headers?.['x-original-routing-key'] ?? msg.fields.routingKey);

function messagingAttributes(msg: ConsumeMessage): Record<string, string> {
  return {
    'messaging.system': 'rabbitmq',
    'messaging.operation.type': 'process',
    'messaging.rabbitmq.destination.routing_key': routingKeyOfDelivery(msg),
    'messaging.message.id': String(msg.properties.messageId ?? ''),
  };
}
