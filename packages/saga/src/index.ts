export { commandQueue, replyQueue, SagaBus, sagaWorkerLocks, type SagaBusConfig, type SagaCommand, type SagaMessage, type StepResult } from './bus.ts';
export { deleteSagaKeys } from './cleanup.ts';
export { defineParticipant, type CommandOf, type ParticipantContract, type PayloadOf } from './contract.ts';
export { inventoryParticipant, paymentsParticipant, sagaIdSchema } from './contracts.ts';
export { startParticipant, type CommandHandler, type ContractHandlers, type ParticipantOptions } from './participant.ts';
export { UnrecoverableError, Worker } from 'bullmq';
export { pruneProcessedCommands, recordResult, runOnce, storedResult, type RawSql, type TransactionalDb } from './runOnce.ts';
export { sagaCountsGauge, sagaMetrics } from './observability.ts';
