import type { ConfirmChannel } from 'amqplib';

/**
 * Names of everything on the broker. A prefix keeps environments (and test runs) apart on one
 * broker: tests use a random one and delete what they declared.
 */
export function topologyNames(prefix = 'mercado') {
  return {
    exchange: `${prefix}.events`,
    deadLetterExchange: `${prefix}.events.dead-letter`,
    queue: (consumer: string) => `${prefix}.${consumer}.events`,
    parkingLot: (consumer: string) => `${prefix}.${consumer}.parking-lot`,
  };
}
export type TopologyNames = ReturnType<typeof topologyNames>;

export async function assertEventsExchange(channel: ConfirmChannel, names: TopologyNames): Promise<void> {
  await channel.assertExchange(names.exchange, 'topic', { durable: true });
}

/**
 * One durable quorum queue per consuming service, bound to the events it reads. The broker
 * counts deliveries; past `deliveryLimit` it dead-letters the message to the consumer's
 * parking lot, a safety net for a consumer that crashes on a message before it can park it
 * itself (the consumer normally parks earlier, with the reason).
 */
export async function assertConsumerTopology(
  channel: ConfirmChannel,
  names: TopologyNames,
  consumer: string,
  routingKeys: readonly string[],
  deliveryLimit: number,
): Promise<void> {
  await assertEventsExchange(channel, names);
  await channel.assertExchange(names.deadLetterExchange, 'direct', { durable: true });
  const parking = names.parkingLot(consumer);
  await channel.assertQueue(parking, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
  await channel.bindQueue(parking, names.deadLetterExchange, consumer);
  const queue = names.queue(consumer);
  await channel.assertQueue(queue, {
    durable: true,
    arguments: {
      'x-queue-type': 'quorum',
      'x-delivery-limit': deliveryLimit,
      'x-dead-letter-exchange': names.deadLetterExchange,
      'x-dead-letter-routing-key': consumer,
    },
  });
  for (const key of routingKeys) await channel.bindQueue(queue, names.exchange, key);
}
