import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { createLogger, notBeforeKey, revokeSessions } from '@mercado/service-kit';
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
});
