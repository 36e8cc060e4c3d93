import { UnrecoverableError, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { contextFromHeaders, inSpan, SpanKind } from '@mercado/telemetry';
import type { Logger } from 'pino';
import { commandQueue, type SagaBus, type SagaCommand, type StepResult } from './bus.ts';
import type { CommandOf, ParticipantContract, PayloadOf } from './contract.ts';
import { pruneProcessedCommands, type RawSql } from './runOnce.ts';

/** Runs one command of a participant's contract; `ok: false` answers are data, not errors. */
export type CommandHandler<P> = (payload: P, meta: { sagaId: string; step: string }) => Promise<StepResult>;

/** One handler for each command of the contract, each taking that command's payload. */
export type ContractHandlers<C extends ParticipantContract> = { [K in CommandOf<C>]: CommandHandler<PayloadOf<C, K>> };

export interface ParticipantOptions<C extends ParticipantContract> {
  bus: SagaBus;
  contract: C;
  handlers: ContractHandlers<C>;
  logger: Logger;
  concurrency?: number;
  /**
   * The participant's database: its run-once records ("ProcessedCommand") older than
   * `retentionDays` (default 14) are pruned at start and hourly, by their createdAt index.
   */
  records?: { db: RawSql; retentionDays?: number };
}

/**
 * A participant's worker: runs each command (idempotent in the participant's database), then
 * replies to the orchestrator. A crash between the two leaves the job unfinished; BullMQ hands
 * it out again, the command returns its stored result, and the reply goes out.
 * A command the contract does not name is UnrecoverableError: retrying cannot help.
 */
export function startParticipant<C extends ParticipantContract>(opts: ParticipantOptions<C>): { worker: Worker; close: () => Promise<void> } {
  const connection = new Redis(opts.bus.config.redisUrl, { maxRetriesPerRequest: null });
  const handlers: Partial<Record<string, CommandHandler<never>>> = opts.handlers;
  const { participant } = opts.contract;
  const worker = new Worker<SagaCommand<never>>(
    commandQueue(participant),
    async (job) => {
      const { sagaId, step, command, payload, replyTo, sentAt, trace, echo } = job.data;
      // A span of the saga's trace (the command carries the sender's context); its SQL and the
      // reply it sends are its children.
      return inSpan(
        `${participant} ${command}`,
        { kind: SpanKind.CONSUMER, parent: contextFromHeaders(trace), attributes: { 'mercado.saga.id': sagaId, 'mercado.saga.step': step, 'messaging.system': 'bullmq' } },
        async () => {
          const handler = Object.hasOwn(opts.contract.commands, command) ? handlers[command] : undefined;
          if (!handler) throw new UnrecoverableError(`${participant} has no command "${command}"`);
          // The payload is the queue's, not yet validated: each handler validates what it reads.
          const result = await handler(payload, { sagaId, step });
          await opts.bus.sendReply(replyTo, { kind: 'reply', sagaId, step, result, attempts: job.attemptsMade + 1, ...(sentAt ? { sentAt } : {}), ...(echo === undefined ? {} : { echo }) });
          return result;
        },
      );
    },
    { connection, prefix: opts.bus.config.prefix, concurrency: opts.concurrency ?? 20, ...opts.bus.workerLocks },
  );
  worker.on('failed', (job, err) => opts.logger.warn({ err: err.message, job: job?.id, attempts: job?.attemptsMade }, 'saga command failed'));
  worker.on('error', (err) => opts.logger.warn({ err: err.message }, 'saga worker error'));
  let pruning: Promise<unknown> = Promise.resolve();
  const prune = () => {
    if (!opts.records) return;
    const { db, retentionDays } = opts.records;
    pruning = pruneProcessedCommands(db, retentionDays).catch((err) => opts.logger.warn({ err: (err as Error).message }, 'could not prune run-once records'));
  };
  prune();
  const pruner = setInterval(prune, 3_600_000);
  pruner.unref();
  return {
    worker,
    close: async () => {
      clearInterval(pruner);
      await pruning;
      await worker.close();
      await connection.quit().catch(() => connection.disconnect());
    },
  };
}
