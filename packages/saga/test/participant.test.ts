/**
 * The saga bus and a participant's worker against real Redis, in the style of BullMQ's own
 * suites: a queue prefix of each test's own, cleaned up afterwards, no mocks.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import pino from 'pino';
import { z } from 'zod';
import { Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { defineParticipant, deleteSagaKeys, replyQueue, SagaBus, sagaWorkerLocks, startParticipant, UnrecoverableError, type SagaMessage, type StepResult } from '../src/index.ts';

const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const logger = pino({ level: 'silent' });
const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

const kitchen = defineParticipant('kitchen', {
  cook: z.object({ dish: z.string(), portions: z.number().int().min(1) }),
  wash: z.object({}),
});

/** A bus on a prefix of the test's own, and an orchestrator's reply queue the test reads. */
function setUp(options: { keepJobs?: number } = {}) {
  const prefix = `test-saga-${randomUUID().slice(0, 8)}`;
  const bus = new SagaBus({ redisUrl, prefix, worker: { lockDuration: 1_000, stalledInterval: 500 }, ...options });
  cleanups.push(async () => {
    await bus.close();
    await deleteSagaKeys(redisUrl, prefix);
  });
  const replies: Array<Extract<SagaMessage, { kind: 'reply' }>> = [];
  const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
  const orchestrator = new Worker<SagaMessage>(replyQueue('test'), async (job: Job<SagaMessage>) => void (job.data.kind === 'reply' && replies.push(job.data)), { connection, prefix });
  cleanups.push(async () => {
    await orchestrator.close();
    await connection.quit();
  });
  return { bus, prefix, replies };
}

async function until<T>(read: () => T | Promise<T>, done: (value: T) => boolean, timeoutMs = 5_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`still ${JSON.stringify(value)} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const command = (sagaId: string, step: string, name: 'cook' | 'wash' | 'dance', payload: unknown) => ({
  sagaId,
  step,
  command: name,
  payload,
  replyTo: replyQueue('test'),
});

describe('a participant', () => {
  it('runs each command of its contract with its payload and replies once, however often it is sent', async () => {
    const { bus, replies } = setUp();
    const cooked: Array<{ dish: string; portions: number; sagaId: string }> = [];
    const participant = startParticipant({
      bus,
      contract: kitchen,
      logger,
      handlers: {
        cook: async (payload, { sagaId }) => (cooked.push({ ...payload, sagaId }), { ok: true }),
        wash: async () => ({ ok: false, reason: 'NO_WATER' }),
      },
    });
    cleanups.push(participant.close);
    const sagaId = randomUUID();
    // The same command three times (a retry, a sweep): one job, one effect, one reply.
    for (let i = 0; i < 3; i++) await bus.sendCommand('kitchen', command(sagaId, 'cookDinner', 'cook', { dish: 'paella', portions: 2 }));
    await bus.sendCommand('kitchen', command(sagaId, 'cleanUp', 'wash', {}));
    await until(() => replies.length, (n) => n >= 2);
    await new Promise((r) => setTimeout(r, 200));
    expect(cooked).toEqual([{ dish: 'paella', portions: 2, sagaId }]);
    expect(replies.map(({ step, result, attempts }) => ({ step, result, attempts })).sort((a, b) => a.step.localeCompare(b.step))).toEqual([
      { step: 'cleanUp', result: { ok: false, reason: 'NO_WATER' } satisfies StepResult, attempts: 1 },
      { step: 'cookDinner', result: { ok: true }, attempts: 1 },
    ]);
  });

  it("returns the orchestrator's echo untouched with the reply, and none when the command had none", async () => {
    const { bus, replies } = setUp();
    const participant = startParticipant({ bus, contract: kitchen, logger, handlers: { cook: async () => ({ ok: true }), wash: async () => ({ ok: true }) } });
    cleanups.push(participant.close);
    const sagaId = randomUUID();
    const echo = { state: 'RUNNING', failureReason: null, order: { id: 'o-1', lines: [{ productId: 'p', quantity: 2 }] } };
    await bus.sendCommand('kitchen', { ...command(sagaId, 'cookDinner', 'cook', { dish: 'stew', portions: 1 }), echo });
    await bus.sendCommand('kitchen', command(sagaId, 'cleanUp', 'wash', {}));
    await until(() => replies.length, (n) => n >= 2);
    expect(replies.find((r) => r.step === 'cookDinner')!.echo).toEqual(echo);
    expect(replies.find((r) => r.step === 'cleanUp')).not.toHaveProperty('echo');
  });

  it('fails a command its contract does not name at once, without retrying it', async () => {
    const { bus, replies } = setUp();
    let calls = 0;
    const participant = startParticipant({
      bus,
      contract: kitchen,
      logger,
      handlers: { cook: async () => (calls++, { ok: true }), wash: async () => (calls++, { ok: true }) },
    });
    cleanups.push(participant.close);
    const sagaId = randomUUID();
    await bus.sendCommand('kitchen', command(sagaId, 'party', 'dance', {}));
    const queue = bus.queue('kitchen-saga-commands');
    await until(() => queue.getJobState(`${sagaId}.party`), (state) => state === 'failed');
    const job = await queue.getJob(`${sagaId}.party`);
    expect(job!.failedReason).toBe('kitchen has no command "dance"');
    expect(job!.attemptsMade).toBe(1);
    expect(calls).toBe(0);
    expect(replies).toEqual([]);
  });

  it('a resend revives a command that failed for good; a plain send does not', async () => {
    const { bus, replies } = setUp();
    let broken = true;
    const participant = startParticipant({
      bus,
      contract: kitchen,
      logger,
      handlers: {
        cook: async () => {
          // As if it had exhausted its attempts (or its worker died twice holding it).
          if (broken) throw new UnrecoverableError('the stove is out');
          return { ok: true };
        },
        wash: async () => ({ ok: true }),
      },
    });
    cleanups.push(participant.close);
    const sagaId = randomUUID();
    const queue = bus.queue('kitchen-saga-commands');
    const send = (resend: boolean) => bus.sendCommand('kitchen', command(sagaId, 'cookDinner', 'cook', { dish: 'soup', portions: 1 }), { resend });
    await send(false);
    await until(() => queue.getJobState(`${sagaId}.cookDinner`), (state) => state === 'failed');

    // Re-adding the same id is a no-op while the failed job is kept; a resend revives it.
    broken = false;
    await send(false);
    expect(await queue.getJobState(`${sagaId}.cookDinner`)).toBe('failed');
    await send(true);
    await until(() => replies.length, (n) => n === 1);
    expect(replies[0]).toMatchObject({ kind: 'reply', sagaId, step: 'cookDinner', result: { ok: true } });
  });

  it('a resend runs a finished command again when Redis lost its reply, whole or leaving a job with no data', async () => {
    const { bus, prefix, replies } = setUp();
    let cooked = 0;
    const participant = startParticipant({ bus, contract: kitchen, logger, handlers: { cook: async () => (cooked++, { ok: true }), wash: async () => ({ ok: true }) } });
    cleanups.push(participant.close);
    const sagaId = randomUUID();
    const cook = command(sagaId, 'cookDinner', 'cook', { dish: 'rice', portions: 1 });
    const replyQueueOf = bus.queue(replyQueue('test'));
    const replyId = `${sagaId}.cookDinner.reply`;
    await bus.sendCommand('kitchen', cook);
    await until(() => replies.length, (n) => n === 1);
    await until(() => bus.queue('kitchen-saga-commands').getJobState(`${sagaId}.cookDinner`), (state) => state === 'completed');

    // While the command's job is kept, sending it again does nothing, and so does a resend while its reply is there.
    await bus.sendCommand('kitchen', cook, { resend: true });
    await until(() => replyQueueOf.getJobState(replyId), (state) => state === 'completed');
    expect(cooked).toBe(1);

    // The reply is gone: the command runs again and answers again.
    await (await replyQueueOf.getJob(replyId))!.remove();
    await bus.sendCommand('kitchen', cook, { resend: true });
    await until(() => replies.length, (n) => n === 2);
    expect(cooked).toBe(2);

    // The reply is a hash with no job in it (what a worker leaves when it moves a job whose data was just evicted).
    await until(() => replyQueueOf.getJobState(replyId), (state) => state === 'completed');
    await (await replyQueueOf.getJob(replyId))!.remove();
    const redis = new Redis(redisUrl);
    cleanups.push(async () => redis.quit());
    await redis.hset(`${prefix}:${replyQueue('test')}:${replyId}`, 'processedOn', Date.now());
    expect(await replyQueueOf.getJobState(replyId)).toBe('unknown');
    await bus.sendCommand('kitchen', cook, { resend: true });
    await until(() => replies.length, (n) => n === 3);
    expect(cooked).toBe(3);

    // The command itself is a hash with no job in it, failed (its worker found no data): retrying it would fail again.
    await until(() => bus.queue('kitchen-saga-commands').getJobState(`${sagaId}.cookDinner`), (state) => state === 'completed');
    await (await bus.queue('kitchen-saga-commands').getJob(`${sagaId}.cookDinner`))!.remove();
    await (await replyQueueOf.getJob(replyId))!.remove();
    await redis.hset(`${prefix}:kitchen-saga-commands:${sagaId}.cookDinner`, 'processedOn', Date.now());
    await redis.zadd(`${prefix}:kitchen-saga-commands:failed`, Date.now(), `${sagaId}.cookDinner`);
    expect(await bus.queue('kitchen-saga-commands').getJobState(`${sagaId}.cookDinner`)).toBe('failed');
    await bus.sendCommand('kitchen', cook, { resend: true });
    await until(() => replies.length, (n) => n === 4);
    expect(cooked).toBe(4);
  });

  it("runs its worker with the bus's locks: 5 s by default, so a dead worker's command returns before a step's deadline", async () => {
    const standard = new SagaBus({ redisUrl, prefix: `test-saga-${randomUUID().slice(0, 8)}` });
    const participant = startParticipant({ bus: standard, contract: kitchen, logger, handlers: { cook: async () => ({ ok: true }), wash: async () => ({ ok: true }) } });
    cleanups.push(() => standard.close(), participant.close);
    expect(sagaWorkerLocks).toEqual({ lockDuration: 5_000, stalledInterval: 5_000 });
    expect({ lockDuration: participant.worker.opts.lockDuration, stalledInterval: participant.worker.opts.stalledInterval }).toEqual(sagaWorkerLocks);

    const { bus } = setUp(); // the tests' own, shorter locks
    const fast = startParticipant({ bus, contract: kitchen, logger, handlers: { cook: async () => ({ ok: true }), wash: async () => ({ ok: true }) } });
    cleanups.push(fast.close);
    expect(fast.worker.opts.lockDuration).toBe(1_000);
  });

  it('keeps a bounded number of finished jobs per queue, however many sagas go through', async () => {
    const { bus, replies } = setUp({ keepJobs: 5 });
    const participant = startParticipant({
      bus,
      contract: kitchen,
      logger,
      handlers: { cook: async () => ({ ok: true }), wash: async () => ({ ok: false, reason: 'NO_WATER' }) },
    });
    cleanups.push(participant.close);
    for (let i = 0; i < 20; i++) await bus.sendCommand('kitchen', command(randomUUID(), 'cookDinner', 'cook', { dish: 'rice', portions: 1 }));
    await until(() => replies.length, (n) => n === 20);
    // Trimmed as each job finishes: the commands' queue and the replies' both hold the newest five.
    await until(() => bus.queue('kitchen-saga-commands').getCompletedCount(), (n) => n === 5);
    const repliesQueue = bus.queue(replyQueue('test'));
    await until(() => repliesQueue.getCompletedCount(), (n) => n === 5);
  });
});
