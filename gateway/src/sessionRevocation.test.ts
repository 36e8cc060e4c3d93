import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { createLogger, notBeforeKey, revokeSessions } from '@mercado/service-kit';
import { connectDoorRedis } from './doorRedis.ts';
import { createRateLimiter, deleteRateLimitKeys } from './rateLimit.ts';
import { createSessionRevocationCheck } from './sessionRevocation.ts';

const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = `mercado-test-${randomBytes(5).toString('hex')}`;
const redis = new Redis(redisUrl);
const logger = createLogger('gateway', 'silent');
afterAll(async () => {
  await redis.del(notBeforeKey(prefix, 'u-1'), notBeforeKey(prefix, 'u-2'));
  redis.disconnect();
});

describe('session revocation at the gateway', () => {
  it('refuses sessions that started before the user signed out, and only those', async () => {
    const check = await createSessionRevocationCheck({ redisUrl, prefix }, logger);
    try {
      const before = Date.now() - 1;
      expect(await check.isRevoked('u-1', before)).toBe(false);
      const at = await revokeSessions(redis, prefix, 'u-1', 3600);
      expect(await check.isRevoked('u-1', before)).toBe(true);
      expect(await check.isRevoked('u-1', at)).toBe(false);
      expect(await check.isRevoked('u-2', before)).toBe(false);
    } finally {
      await check.close();
    }
  });

  it('accepts tokens unchecked when Redis cannot answer, rather than refuse everyone', async () => {
    const check = await createSessionRevocationCheck({ redisUrl: 'redis://127.0.0.1:9', prefix }, logger);
    try {
      expect(await check.isRevoked('u-1', 0)).toBe(false);
    } finally {
      await check.close();
    }
  });

  it("shares the door connection with the rate limit: a signed-in request's two reads reach Redis in one write", async () => {
    const door = await connectDoorRedis(redisUrl);
    const keyPrefix = `${prefix}:rate`;
    const check = await createSessionRevocationCheck({ redisUrl, prefix }, logger, door);
    const limiter = await createRateLimiter({ redisUrl, keyPrefix, points: 10, durationSeconds: 60 }, logger, door);
    try {
      await limiter.consume('user:u-3'); // loads the limiter's script once
      const writes = vi.spyOn(door.stream, 'write');
      const [revoked] = await Promise.all([check.isRevoked('u-3', Date.now()), limiter.consume('user:u-3')]);
      expect(revoked).toBe(false);
      expect(writes).toHaveBeenCalledTimes(1);
      const written = String(writes.mock.calls[0]![0]);
      expect(written).toContain(notBeforeKey(prefix, 'u-3'));
      expect(written).toContain(`${keyPrefix}:user:u-3`);
      expect(await redis.get(`${keyPrefix}:user:u-3`)).toBe('2');
      // Closing either check leaves the shared connection to its owner.
      await check.close();
      await limiter.close();
      expect(door.status).toBe('ready');
    } finally {
      door.disconnect();
      await deleteRateLimitKeys(redisUrl, keyPrefix);
    }
  });
});
