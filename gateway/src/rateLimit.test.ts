import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { createLogger, HttpError, type Logger } from '@mercado/service-kit';
import { createRateLimiter, deleteRateLimitKeys } from './rateLimit.ts';

const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const keyPrefix = `mercado:test:${randomBytes(5).toString('hex')}:rate`;
const logger = createLogger('gateway', 'silent');
afterAll(() => deleteRateLimitKeys(redisUrl, keyPrefix));

async function refusal(promise: Promise<unknown>): Promise<HttpError | undefined> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  if (error !== undefined && !(error instanceof HttpError)) throw error;
  return error;
}

describe('rate limiting', () => {
  it('counts in Redis per key and answers 429 with Retry-After past the limit', async () => {
    const limiter = await createRateLimiter({ redisUrl, keyPrefix, points: 3, durationSeconds: 60 }, logger);
    try {
      for (let i = 0; i < 3; i++) expect(await refusal(limiter.consume('user:a'))).toBeUndefined();
      const error = await refusal(limiter.consume('user:a'));
      expect({ status: error?.status, code: error?.code }).toEqual({ status: 429, code: 'RATE_LIMITED' });
      expect(Number(error!.headers['retry-after'])).toBeGreaterThanOrEqual(59);
      expect(Number(error!.headers['retry-after'])).toBeLessThanOrEqual(60);
      expect(await refusal(limiter.consume('user:b'))).toBeUndefined();

      // Shared through Redis: a second gateway instance sees the same count.
      const other = await createRateLimiter({ redisUrl, keyPrefix, points: 3, durationSeconds: 60 }, logger);
      expect((await refusal(other.consume('user:a')))?.status).toBe(429);
      await other.close();

      const redis = new Redis(redisUrl);
      expect(await redis.get(`${keyPrefix}:user:a`)).toBe('5');
      redis.disconnect();
    } finally {
      await limiter.close();
    }
  });

  it('keeps limiting in process memory when Redis cannot be reached, and says so once', async () => {
    const warnings: string[] = [];
    const capture = { warn: (_details: unknown, message: string) => warnings.push(message), info: () => {} } as unknown as Logger;
    const limiter = await createRateLimiter({ redisUrl: 'redis://127.0.0.1:9', keyPrefix, points: 2, durationSeconds: 60 }, capture);
    try {
      expect(await refusal(limiter.consume('ip:1'))).toBeUndefined();
      expect(await refusal(limiter.consume('ip:1'))).toBeUndefined();
      expect((await refusal(limiter.consume('ip:1')))?.code).toBe('RATE_LIMITED');
      expect(warnings).toEqual([expect.stringMatching(/Redis is unavailable, counting in this process/)]);
    } finally {
      await limiter.close();
    }
  });

  it('deletes its keys', async () => {
    const prefix = `${keyPrefix}:cleanup`;
    const limiter = await createRateLimiter({ redisUrl, keyPrefix: prefix, points: 3, durationSeconds: 60 }, logger);
    await limiter.consume('user:c');
    await limiter.close();
    const redis = new Redis(redisUrl);
    expect(await redis.exists(`${prefix}:user:c`)).toBe(1);
    await deleteRateLimitKeys(redisUrl, prefix);
    expect(await redis.exists(`${prefix}:user:c`)).toBe(0);
    redis.disconnect();
  });
});
