import { UnrecoverableError, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { commandQueue, type SagaBus, type SagaCommand, type StepResult } from './bus.ts';

export type CommandHandler = (payload: unknown, meta: { sagaId: string; step: string }) => Promise<StepResult>;

export interface ParticipantOptions {
  bus: SagaBus;
  participant: string;
  handlers: Record<string, CommandHandler>;
  logger: Logger;
  concurrency?: number;
}

/**
 * A participant's worker: runs each command (idempotent in the participant's database), then
 * replies to the orchestrator. A crash between the two leaves the job unfinished; BullMQ hands
 * it out again, the command returns its stored result, and the reply goes out.
 * An unknown command is UnrecoverableError: retrying cannot help.
 */
export function startParticipant(opts: ParticipantOptions): { worker: Worker; close: () => Promise<void> } {
  const connection = new Redis(opts.bus.config.redisUrl, { maxRetriesPerRequest: null });
  const worker = new Worker<SagaCommand>(
    commandQueue(opts.participant),
    async (job) => {
      const { sagaId, step, command, payload, replyTo } = job.data;
      const handler = opts.handlers[command];
      if (!handler) throw new UnrecoverableError(`${opts.participant} has no command "${command}"`);
      const result = await handler(payload, { sagaId, step });
      await opts.bus.sendReply(replyTo, { kind: 'reply', sagaId, step, result, attempts: job.attemptsMade + 1 });
      return result;
    },
    { connection, prefix: opts.bus.config.prefix, concurrency: opts.concurrency ?? 20, ...opts.bus.config.worker },
  );
  worker.on('failed', (job, err) => opts.logger.warn({ err: err.message, job: job?.id, attempts: job?.attemptsMade }, 'saga command failed'));
  worker.on('error', (err) => opts.logger.warn({ err: err.message }, 'saga worker error'));
  return {
    worker,
    close: async () => {
      await worker.close();
      await connection.quit().catch(() => connection.disconnect());
    },
  };
}
