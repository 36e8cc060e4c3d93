import type { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { deleteRedisKeys, HttpError, type Logger } from '@mercado/service-kit';
import { connectDoorRedis } from './doorRedis.ts';

export interface RateLimitOptions {
  redisUrl: string;
  /** Every key is `<keyPrefix>:<user or ip>`; tests use a unique prefix and delete it afterwards. */
  keyPrefix: string;
  /** Requests one user (or one anonymous client address) may make per window. */
  points: number;
  durationSeconds: number;
}

export interface RateLimiter {
  /** Counts one request for `key`; throws HttpError 429 `RATE_LIMITED` with Retry-After past the limit. */
  consume(key: string): Promise<void>;
  close(): Promise<void>;
}

/**
 * Fixed-window request limits shared by every gateway instance through Redis.
 *
 * When Redis is unreachable the gateway neither stops serving (failing closed would turn a
 * Redis outage into a full outage, though Redis holds nothing else the gateway needs) nor drops
 * the limit (failing open would remove the protection exactly when the system is already
 * degraded): it counts in process memory with the same limits, so each instance still bounds
 * what one client can do, and logs a warning once per outage.
 */
export async function createRateLimiter(opts: RateLimitOptions, logger: Logger, doorRedis?: Redis): Promise<RateLimiter> {
  // `doorRedis`: the gateway's door connection (doorRedis.ts), which the limiter then does not close.
  const redis = doorRedis ?? (await connectDoorRedis(opts.redisUrl));
  let degraded = false;
  const degrade = (reason: string) => {
    if (degraded) return;
    degraded = true;
    logger.warn({ reason }, 'rate limiting: Redis is unavailable, counting in this process until it is back');
  };
  redis.on('error', (error: Error) => degrade(error.message));
  redis.on('ready', () => {
    if (degraded) logger.info('rate limiting: Redis is back');
    degraded = false;
  });
  if (redis.status !== 'ready') degrade('not connected');

  const limits = { keyPrefix: opts.keyPrefix, points: opts.points, duration: opts.durationSeconds };
  const shared = new RateLimiterRedis({ ...limits, storeClient: redis, rejectIfRedisNotReady: true });
  const local = new RateLimiterMemory(limits);

  const tooMany = (result: RateLimiterRes) => {
    const seconds = Math.max(1, Math.ceil(result.msBeforeNext / 1000));
    return new HttpError(429, 'RATE_LIMITED', `Too many requests; try again in ${seconds} s`, { 'retry-after': String(seconds) });
  };

  return {
    async consume(key) {
      try {
        await shared.consume(key);
      } catch (sharedError) {
        if (sharedError instanceof RateLimiterRes) throw tooMany(sharedError);
        degrade((sharedError as Error).message ?? String(sharedError));
        try {
          await local.consume(key);
        } catch (localError) {
          if (localError instanceof RateLimiterRes) throw tooMany(localError);
          throw localError;
        }
      }
    },
    async close() {
      if (!doorRedis) redis.disconnect();
    },
  };
}

/** Deletes every key under `keyPrefix` (tests clean up after themselves). */
export async function deleteRateLimitKeys(redisUrl: string, keyPrefix: string): Promise<void> {
  await deleteRedisKeys(redisUrl, keyPrefix);
}
