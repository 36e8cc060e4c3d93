import { Queue, type Job, type JobsOptions, type JobState, type WorkerOptions } from 'bullmq';
import { Redis } from 'ioredis';
import { traceHeaders } from '@mercado/telemetry';

/**
 * Saga messages travel as BullMQ jobs on Redis: commands to a participant's queue, replies to
 * the orchestrator's. Deadlines are not jobs: the orchestrator keeps each step's deadline in its
 * saga's row and finds the sagas past theirs with one query. Job ids are deterministic (`<sagaId>.<step>`), so
 * sending the same command twice (a retry, a sweep after a crash) enqueues it once while the
 * job is waiting, running or kept (`keepJobs`); the participant's own uniqueness record covers the rest.
 */
export interface SagaBusConfig {
  redisUrl: string;
  /** BullMQ key prefix: keeps environments and test runs apart on one Redis. */
  prefix: string;
  /**
   * How soon a job whose worker died is handed out again: its lock expires after
   * `lockDuration` and a worker's stalled check, every `stalledInterval`, puts it back
   * (`sagaWorkerLocks` unless set; tests that kill workers shorten them further).
   */
  worker?: Pick<WorkerOptions, 'lockDuration' | 'stalledInterval'>;
  /**
   * How many finished jobs each queue keeps (default 10,000 completed, at most an hour, and as
   * many failed, at most a week), for the dashboard and to drop a duplicate send while its job is
   * kept. Bounded by count because a saga is 8 jobs: at 80 sagas a second a day's retention was
   * 55 million job hashes in Redis. Dropping duplicates later is not needed for correctness: a
   * participant runs a command once per (saga, step) in its own database, and the orchestrator's
   * guarded moves ignore a reply for a step it no longer waits on.
   */
  keepJobs?: number;
}

export interface SagaCommand<P = unknown> {
  sagaId: string;
  /** The saga's step, e.g. reserveStock; unique within the saga. */
  step: string;
  /** What the participant should do, e.g. reserve. */
  command: string;
  payload: P;
  /** Queue of the orchestrator that wants the reply. */
  replyTo: string;
  /** When the orchestrator sent it (ms since the epoch): the reply carries it back, for the step's duration. */
  sentAt?: number;
  /** W3C trace context of the span that sent it (`traceparent`), when traces are on. */
  trace?: Record<string, string>;
  /**
   * The orchestrator's own, opaque to the participant and returned untouched in the reply: what
   * the orchestrator knew of the saga when it sent the step, so that applying the reply needs no
   * read of it (a stale echo only fails the orchestrator's guarded write, which then reads).
   */
  echo?: unknown;
}

export type StepResult = { ok: true; [key: string]: unknown } | { ok: false; reason: string; [key: string]: unknown };

export type SagaMessage =
  | { kind: 'reply'; sagaId: string; step: string; result: StepResult; attempts?: number; sentAt?: number; trace?: Record<string, string>; echo?: unknown }
  /** The orchestrator's own: a step's deadline has passed (found in its saga's row, never queued). */
  | { kind: 'deadline'; sagaId: string; step: string };

/**
 * Saga workers' locks: 5 s each, not BullMQ's 30 s. A participant killed while holding a reserve
 * or authorize command then has it handed to another worker within 5-10 s, before the step's
 * deadline (SAGA_STEP_TIMEOUT_MS, 10 s) rejects the order as TIMED_OUT; with 30 s every such
 * order was rejected (bench:saga:faults). A command takes milliseconds and BullMQ renews a running
 * job's lock every `lockDuration / 2` (one call per worker for all its jobs), so only an event loop
 * stuck for seconds loses a lock: the job then runs again, which run-once makes harmless.
 */
export const sagaWorkerLocks = { lockDuration: 5_000, stalledInterval: 5_000 } as const satisfies SagaBusConfig['worker'];

export const commandQueue = (participant: string) => `${participant}-saga-commands`;
export const replyQueue = (orchestrator: string) => `${orchestrator}-saga-replies`;

/** Ids must not contain ':' (BullMQ's own separator). */
const jobId = (...parts: string[]) => parts.join('.');

/** What a queue keeps of its finished jobs (SagaBusConfig.keepJobs says why so little). */
const retentionOf = (count = 10_000): Pick<JobsOptions, 'removeOnComplete' | 'removeOnFail'> => ({
  removeOnComplete: { age: 3600, count },
  removeOnFail: { age: 7 * 24 * 3600, count },
});

/**
 * A job's state, 'unknown' for a job left without its data: a hash with no name, which BullMQ
 * writes when it moves a job whose hash has just gone. Retrying one only fails it again.
 */
async function stateOf(job: Job | undefined): Promise<JobState | 'unknown' | undefined> {
  if (!job) return undefined;
  return job.name ? job.getState() : 'unknown';
}

export class SagaBus {
  readonly connection: Redis;
  private readonly queues = new Map<string, Queue>();
  private readonly retention: Pick<JobsOptions, 'removeOnComplete' | 'removeOnFail'>;

  /** Lock settings for the workers on this bus's queues (SagaBusConfig.worker). */
  readonly workerLocks: NonNullable<SagaBusConfig['worker']>;

  constructor(readonly config: SagaBusConfig) {
    this.retention = retentionOf(config.keepJobs);
    this.workerLocks = { ...sagaWorkerLocks, ...config.worker };
    // BullMQ requires maxRetriesPerRequest: null: blocking commands must wait through reconnects.
    this.connection = new Redis(config.redisUrl, { maxRetriesPerRequest: null, lazyConnect: false });
    // Each open queue listens for this shared connection's errors, but none is open before the
    // first send or after close(): without a listener of its own, a socket error then (EPIPE,
    // seen in a test under load) is reported by ioredis as an "Unhandled error event". It
    // reconnects by itself, and a command that fails meanwhile rejects to whoever sent it.
    this.connection.on('error', () => {});
  }

  queue(name: string): Queue {
    let q = this.queues.get(name);
    if (!q) this.queues.set(name, (q = new Queue(name, { connection: this.connection, prefix: this.config.prefix })));
    return q;
  }

  /**
   * Retried with exponential backoff by the participant's worker; the id makes it once-only.
   * `resend` (the orchestrator's sweep, for a step its saga still waits on) also revives what
   * the step's jobs left behind:
   * - the command or its reply failed for good (BullMQ fails a job whose worker died while
   *   holding it twice): it is retried. Otherwise the saga would wait forever, since re-adding
   *   a job whose id is kept is a no-op.
   * - the command finished but its reply is gone, or either job is left without its data or
   *   state (a Redis that lost part of its data: an evicted key, a partial restore). The
   *   command's job is removed and the command sent again; the participant's run-once answers
   *   it with the result it stored.
   */
  async sendCommand(participant: string, command: SagaCommand, opts: { resend?: boolean } = {}): Promise<void> {
    const queue = this.queue(commandQueue(participant));
    const id = jobId(command.sagaId, command.step);
    if (opts.resend) {
      const existing = await queue.getJob(id);
      const state = await stateOf(existing);
      if (state === 'failed') return void (await existing!.retry());
      const reply = await this.queue(command.replyTo).getJob(jobId(command.sagaId, command.step, 'reply'));
      const replyState = await stateOf(reply);
      if (replyState === 'failed') return void (await reply!.retry());
      if (state === 'unknown' || (state === 'completed' && (!reply || replyState === 'unknown'))) {
        if (replyState === 'unknown') await reply!.remove();
        await existing!.remove();
      }
    }
    // The trace of whatever sends it (placeOrder's request, the reply before it) goes with it.
    const trace = traceHeaders();
    const sent: SagaCommand = { ...command, sentAt: command.sentAt ?? Date.now(), ...(trace.traceparent ? { trace } : {}) };
    await queue.add(command.command, sent, {
      jobId: id,
      attempts: 8,
      backoff: { type: 'exponential', delay: 200 },
      ...this.retention,
    });
  }

  async sendReply(replyTo: string, reply: Extract<SagaMessage, { kind: 'reply' }>): Promise<void> {
    const trace = traceHeaders();
    await this.queue(replyTo).add('reply', trace.traceparent ? { ...reply, trace } : reply, {
      jobId: jobId(reply.sagaId, reply.step, 'reply'),
      attempts: 8,
      backoff: { type: 'exponential', delay: 200 },
      ...this.retention,
    });
  }

  async close(): Promise<void> {
    for (const q of this.queues.values()) await q.close();
    await this.connection.quit().catch(() => this.connection.disconnect());
  }
}
