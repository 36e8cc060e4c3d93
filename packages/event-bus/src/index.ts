export { connectToBroker, type AmqpConnectionManager } from './connection.ts';
export {
  EventConsumer,
  newestPerAggregate,
  parsePayload,
  PoisonMessageError,
  type BatchEventHandler,
  type EventConsumerOptions,
  type EventHandler,
  type Handler,
  type InboxTransaction,
} from './consumer.ts';
export { existenceReplica } from './existenceReplica.ts';
export { envelopeSchema, newEvent, routingKeyOf, type IntegrationEvent } from './envelope.ts';
export { LagRecorder } from './lag.ts';
export { appendToOutbox, OUTBOX_CHANNEL, type SqlTransaction } from './outbox.ts';
export { listParked, redriveParked, type ParkedMessage } from './parkingLot.ts';
export { pgSql, pgTransaction, type PgSql } from './pgTransaction.ts';
export { preparedQuery, statementNames, StatementNames } from './preparedStatements.ts';
export { OutboxRelay, type OutboxRelayOptions } from './relay.ts';
export { assertConsumerTopology, assertEventsExchange, topologyNames, type TopologyNames } from './topology.ts';
export { declareTopology, deleteTopology } from './declareTopology.ts';
export {
  replicaKey,
  republish,
  startEventWorkers,
  type EventWorkersConfig,
  type ReadModel,
  type ReplicatedState,
  type RunningEventWorkers,
  type ServiceEvents,
} from './serviceEvents.ts';
export { verifyReadModel, verifyUntilEqual, type EventfulService, type ReadModelReport, type VerifyOptions } from './readModelCheck.ts';
export { rebuildReadModel, type RebuildOptions } from './rebuild.ts';
export { LiveEvents, type LiveListener } from './liveEvents.ts';
