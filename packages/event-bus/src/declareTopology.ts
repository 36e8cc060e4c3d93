import amqplib from 'amqplib';
import { assertConsumerTopology, assertEventsExchange, topologyNames } from './topology.ts';

/**
 * Declares the exchange and every consumer's queues and bindings before any service starts, so
 * an event published before its consumer first connected still has a queue to land in (a topic
 * exchange drops what no queue is bound for). Run by setup, like migrations.
 */
export async function declareTopology(
  amqpUrl: string,
  prefix: string,
  consumers: Array<{ name: string; routingKeys: string[] }>,
  deliveryLimit = 5,
): Promise<void> {
  const connection = await amqplib.connect(amqpUrl);
  try {
    const channel = await connection.createConfirmChannel();
    const names = topologyNames(prefix);
    await assertEventsExchange(channel, names);
    for (const c of consumers) await assertConsumerTopology(channel, names, c.name, c.routingKeys, deliveryLimit);
    await channel.close();
  } finally {
    await connection.close();
  }
}

/** Deletes everything declareTopology declared (tests). */
export async function deleteTopology(amqpUrl: string, prefix: string, consumers: string[]): Promise<void> {
  const connection = await amqplib.connect(amqpUrl);
  try {
    const channel = await connection.createChannel();
    const names = topologyNames(prefix);
    for (const c of consumers) {
      await channel.deleteQueue(names.queue(c));
      await channel.deleteQueue(names.parkingLot(c));
    }
    await channel.deleteExchange(names.exchange);
    await channel.deleteExchange(names.deadLetterExchange);
    await channel.close();
  } finally {
    await connection.close();
  }
}
