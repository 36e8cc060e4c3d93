/**
 * The ceiling: BullMQ on the same Redis with nothing but the queue: no-op jobs the size of a
 * saga command, kept after completion as the saga bus keeps them, one worker at concurrency 50.
 * The jobs are queued first, so the figure is the worker's rate alone.
 */
import { randomBytes } from 'node:crypto';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { deleteSagaKeys } from '@mercado/saga';

export interface RawJobsOptions {
  redisUrl: string;
  jobs: number;
  concurrency: number;
  onProgress?: (done: number) => void;
}

export async function measureRawJobs(opts: RawJobsOptions): Promise<{ jobs: number; seconds: number; jobsPerSec: number }> {
  const prefix = `mercado-bench-${randomBytes(4).toString('hex')}`;
  const queueConnection = new Redis(opts.redisUrl, { maxRetriesPerRequest: null });
  const workerConnection = new Redis(opts.redisUrl, { maxRetriesPerRequest: null });
  const queue = new Queue('noop', { connection: queueConnection, prefix });
  let worker: Worker | undefined;
  try {
    // A payload like a saga command's: ids, a step, a small order.
    const data = (i: number) => ({
      sagaId: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
      step: 'reserveStock',
      command: 'reserve',
      payload: { lines: [{ productId: '7f0c1a52-4a53-4d6e-9c1e-2b1f3a4d5e6f', quantity: 1 }] },
      replyTo: 'orders-saga-replies',
    });
    for (let i = 0; i < opts.jobs; i += 1000) {
      await queue.addBulk(
        Array.from({ length: Math.min(1000, opts.jobs - i) }, (_, k) => ({
          name: 'noop',
          data: data(i + k),
          opts: { jobId: `bench.${i + k}`, attempts: 8, backoff: { type: 'exponential', delay: 200 }, removeOnComplete: { age: 3600 } },
        })),
      );
    }
    let done = 0;
    let finish: () => void = () => {};
    const finished = new Promise<void>((resolve, reject) => {
      finish = resolve;
      setTimeout(() => reject(new Error(`the raw worker finished ${done} of ${opts.jobs} jobs in 120 s`)), 120_000).unref();
    });
    worker = new Worker('noop', async () => {}, { connection: workerConnection, prefix, concurrency: opts.concurrency, autorun: false });
    worker.on('completed', () => {
      if (++done === opts.jobs) finish();
    });
    const progress = setInterval(() => opts.onProgress?.(done), 1000);
    const started = performance.now();
    void worker.run();
    await finished;
    const seconds = (performance.now() - started) / 1000;
    clearInterval(progress);
    return { jobs: done, seconds, jobsPerSec: done / seconds };
  } finally {
    await worker?.close().catch(() => {});
    await queue.close().catch(() => {});
    workerConnection.disconnect();
    queueConnection.disconnect();
    await deleteSagaKeys(opts.redisUrl, prefix);
  }
}
