import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { ChannelWrapper } from 'amqp-connection-manager';
import type { ConfirmChannel, ConsumeMessage } from 'amqplib';
import type { Logger } from 'pino';
import type { AmqpConnectionManager } from './connection.ts';
import { envelopeSchema, type IntegrationEvent } from './envelope.ts';
import { assertEventsExchange, type TopologyNames } from './topology.ts';
import { logChannelErrors } from './channelErrors.ts';

/** What a live subscriber hears: an event about its aggregate, or that it may have missed some. */
export interface LiveListener {
  event(event: IntegrationEvent): void;
  /** The broker connection was lost and is back: events may have gone by meanwhile; look again. */
  resync(): void;
}

/**
 * Integration events as they happen, for one process's live subscribers (the gateway's GraphQL
 * subscriptions): a queue of this process's own on the events exchange (exclusive, deleted with
 * its connection, nothing kept on disk), bound only to the routing keys its subscribers need
 * right now, so that each gateway replica receives what its own subscribers need and no more.
 * Delivery is at most once and without acknowledgements: a live subscriber reads the current
 * state itself when told something changed, so a missed notification costs a refresh, not data;
 * after a reconnect every subscriber is told to resync.
 */
export class LiveEvents {
  private channel?: ChannelWrapper;
  private live?: ConfirmChannel;
  /** Routing key -> aggregate id -> listeners. */
  private readonly listeners = new Map<string, Map<string, Set<LiveListener>>>();
  /** Bindings asked of the broker and not yet confirmed, by routing key. */
  private readonly binding = new Map<string, Promise<void>>();
  private readonly queue: string;
  private connects = 0;
  private received = 0;

  constructor(
    private readonly opts: {
      connection: AmqpConnectionManager;
      names: TopologyNames;
      logger: Logger;
      /** Who is listening, for the queue's name (e.g. `gateway`). */
      owner: string;
    },
  ) {
    this.queue = `${opts.names.exchange}.live.${opts.owner}.${hostname()}.${process.pid}.${randomBytes(3).toString('hex')}`;
  }

  /** Declares the queue and starts consuming; returns at once when the broker is not reachable yet. */
  async start(): Promise<void> {
    this.channel = this.opts.connection.createChannel({
      json: false,
      confirm: true,
      setup: async (ch: ConfirmChannel) => {
        // Subscribers already here followed while nothing was bound (before the first connection
        // too): what went by meanwhile is unknown to them, so they look again once bound.
        const resync = this.connects++ > 0 || this.listeners.size > 0;
        await assertEventsExchange(ch, this.opts.names);
        await ch.assertQueue(this.queue, { exclusive: true, autoDelete: true, durable: false });
        // Live before binding what is followed: a subscribe from here on binds its own key.
        this.live = ch;
        ch.once('close', () => {
          if (this.live === ch) this.live = undefined;
        });
        for (const key of this.listeners.keys()) await ch.bindQueue(this.queue, this.opts.names.exchange, key);
        await ch.consume(this.queue, (msg) => this.dispatch(msg), { noAck: true });
        if (resync) this.forEachListener((listener) => listener.resync());
      },
    });
    logChannelErrors(this.channel, this.opts.logger, 'live events');
  }

  /** Connected, consuming. */
  get connected(): boolean {
    return this.live !== undefined;
  }

  /**
   * Calls `listener` for each event with one of `routingKeys` about `aggregateId`, until the
   * returned function is called. The first listener of a routing key binds it, the last one
   * gone unbinds it.
   */
  subscribe(routingKeys: readonly string[], aggregateId: string, listener: LiveListener): () => void {
    for (const key of routingKeys) {
      let byAggregate = this.listeners.get(key);
      if (!byAggregate) {
        this.listeners.set(key, (byAggregate = new Map()));
        const bind = this.live?.bindQueue(this.queue, this.opts.names.exchange, key).then(
          () => {},
          (err: unknown) => this.opts.logger.warn({ err, key }, 'could not bind a live routing key; it is bound again on reconnect'),
        );
        if (bind) {
          this.binding.set(key, bind);
          void bind.finally(() => {
            if (this.binding.get(key) === bind) this.binding.delete(key);
          });
        }
      }
      let set = byAggregate.get(aggregateId);
      if (!set) byAggregate.set(aggregateId, (set = new Set()));
      set.add(listener);
    }
    return () => {
      for (const key of routingKeys) {
        const byAggregate = this.listeners.get(key);
        const set = byAggregate?.get(aggregateId);
        set?.delete(listener);
        if (set && set.size === 0) byAggregate!.delete(aggregateId);
        if (byAggregate && byAggregate.size === 0) {
          this.listeners.delete(key);
          void this.live?.unbindQueue(this.queue, this.opts.names.exchange, key).catch(() => {});
        }
      }
    };
  }

  /**
   * Resolves once the broker has confirmed the bindings of `routingKeys` asked by `subscribe`
   * (at once when they were bound already; when not connected, at once too: the connection's
   * setup binds them and tells their subscribers to look again). A subscriber reads the current state only after this: an event committed between
   * that read and a binding still in flight would otherwise never reach it.
   */
  async bound(routingKeys: readonly string[]): Promise<void> {
    await Promise.all(routingKeys.map((key) => this.binding.get(key)));
  }

  /** Messages this process's queue has delivered since start (whoever they were for). */
  get receivedCount(): number {
    return this.received;
  }

  /** Listeners in this process now (every routing key, every aggregate). */
  get size(): number {
    let n = 0;
    this.forEachListener(() => n++);
    return n;
  }

  async stop(): Promise<void> {
    await this.channel?.close();
  }

  private forEachListener(fn: (listener: LiveListener) => void): void {
    const seen = new Set<LiveListener>();
    for (const byAggregate of this.listeners.values()) for (const set of byAggregate.values()) for (const l of set) if (!seen.has(l) && seen.add(l)) fn(l);
  }

  private dispatch(msg: ConsumeMessage | null): void {
    if (!msg) return;
    this.received++;
    let event: IntegrationEvent;
    try {
      const parsed = envelopeSchema.safeParse(JSON.parse(msg.content.toString('utf8')));
      if (!parsed.success) return;
      event = parsed.data as IntegrationEvent;
    } catch {
      return; // not an event: nobody here can use it
    }
    const listeners = this.listeners.get(msg.fields.routingKey)?.get(event.aggregateId);
    for (const listener of [...(listeners ?? [])]) {
      try {
        listener.event(event);
      } catch (err) {
        this.opts.logger.warn({ err }, 'a live listener failed');
      }
    }
  }
}
