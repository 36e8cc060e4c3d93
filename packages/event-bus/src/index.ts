export { connectToBroker, type AmqpConnectionManager } from './connection.ts';
export { EventConsumer, parsePayload, PoisonMessageError, type EventConsumerOptions, type EventHandler, type InboxTransaction } from './consumer.ts';
export { envelopeSchema, newEvent, routingKeyOf, type IntegrationEvent } from './envelope.ts';
export { LagRecorder } from './lag.ts';
export { appendToOutbox, OUTBOX_CHANNEL, type SqlTransaction } from './outbox.ts';
export { listParked, redriveParked, type ParkedMessage } from './parkingLot.ts';
export { OutboxRelay, type OutboxRelayOptions } from './relay.ts';
export { assertConsumerTopology, assertEventsExchange, topologyNames, type TopologyNames } from './topology.ts';
