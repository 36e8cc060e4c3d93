import amqplib from 'amqplib';
import type { TopologyNames } from './topology.ts';

export interface ParkedMessage {
  messageId?: string;
  routingKey: string;
  reason: string;
  parkedAt?: string;
  body: string;
}

/** Where a parked message was headed: our header, or the broker's x-death record. */
function originalRoutingKey(headers: Record<string, any> | undefined, fallback: string): string {
  if (typeof headers?.['x-original-routing-key'] === 'string') return headers['x-original-routing-key'];
  const death = Array.isArray(headers?.['x-death']) ? headers['x-death'][0] : undefined;
  return death?.['routing-keys']?.[0] ?? fallback;
}

function reasonOf(headers: Record<string, any> | undefined): string {
  if (typeof headers?.['x-parked-reason'] === 'string') return headers['x-parked-reason'];
  const death = Array.isArray(headers?.['x-death']) ? headers['x-death'][0] : undefined;
  return death ? `dead-lettered by the broker: ${death.reason}` : 'unknown';
}

async function withChannel<T>(url: string, fn: (ch: amqplib.ConfirmChannel) => Promise<T>): Promise<T> {
  const connection = await amqplib.connect(url);
  try {
    const channel = await connection.createConfirmChannel();
    try {
      return await fn(channel);
    } finally {
      await channel.close().catch(() => {});
    }
  } finally {
    await connection.close().catch(() => {});
  }
}

/** Reads up to `limit` parked messages without removing them (they are requeued). */
export async function listParked(url: string, names: TopologyNames, consumer: string, limit = 100): Promise<ParkedMessage[]> {
  return withChannel(url, async (ch) => {
    const seen: amqplib.GetMessage[] = [];
    for (let i = 0; i < limit; i++) {
      const msg = await ch.get(names.parkingLot(consumer), { noAck: false });
      if (!msg) break;
      seen.push(msg);
    }
    const out = seen.map((msg) => ({
      messageId: msg.properties.messageId,
      routingKey: originalRoutingKey(msg.properties.headers, msg.fields.routingKey),
      reason: reasonOf(msg.properties.headers),
      parkedAt: msg.properties.headers?.['x-parked-at'],
      body: msg.content.toString('utf8'),
    }));
    if (seen.length) ch.nackAll(true);
    return out;
  });
}

/**
 * Moves parked messages back to the consumer's queue, each acked from the parking lot only
 * after the broker confirmed the copy. Idempotent in effect: a message redriven twice (a crash
 * between the copy and the ack) is applied once, thanks to the consumer's inbox.
 */
export async function redriveParked(url: string, names: TopologyNames, consumer: string, limit = 10_000): Promise<number> {
  return withChannel(url, async (ch) => {
    // Only what is parked now: a message that fails again is parked again, and must not be
    // picked up by this same run.
    const { messageCount } = await ch.checkQueue(names.parkingLot(consumer));
    let moved = 0;
    for (; moved < Math.min(limit, messageCount); moved++) {
      const msg = await ch.get(names.parkingLot(consumer), { noAck: false });
      if (!msg) break;
      const { 'x-death': _d, 'x-delivery-count': _c, 'x-parked-reason': _r, 'x-parked-at': _a, ...headers } = msg.properties.headers ?? {};
      headers['x-original-routing-key'] = originalRoutingKey(msg.properties.headers, msg.fields.routingKey);
      headers['x-redriven-at'] = new Date().toISOString();
      ch.sendToQueue(names.queue(consumer), msg.content, { ...msg.properties, headers, persistent: true });
      await ch.waitForConfirms();
      ch.ack(msg);
    }
    return moved;
  });
}
