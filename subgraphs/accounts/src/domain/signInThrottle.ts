import { createHash } from 'node:crypto';
import { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { GraphQLError } from 'graphql';
import { deleteRedisKeys, type Logger } from '@mercado/service-kit';

/**
 * Sign-in throttling after rate-limiter-flexible's login-protection pattern, counted in Redis so
 * that every replica of accounts shares the counts:
 *
 * - consecutive failures per (account, address): 5, then that address is locked out of that
 *   account for 5 minutes; a successful sign-in resets it. A stranger's failures lock out the
 *   stranger's address, not the user's.
 * - failures per address per day: 100 (logins and registrations of a taken email alike), then
 *   the address is refused for the rest of the day.
 * - failures per account from every address: 50 an hour, then 15 minutes locked: this bounds
 *   guessing spread over many addresses; it is the only lock an attacker can put on someone
 *   else's account, and it lasts 15 minutes at most, only while they keep failing.
 *
 * A point is taken before the password is checked (atomically in Redis), so 30 guesses sent at
 * once count as 30, and given back on success. Unknown accounts are counted exactly like known
 * ones: the key is the normalised email, whether or not it has an account.
 */
export interface SignInThrottleLimits {
  consecutivePerAccountAndAddress: number;
  lockSeconds: number;
  perAddressPerDay: number;
  perAccountPerHour: number;
  accountLockSeconds: number;
}

export const defaultSignInLimits: SignInThrottleLimits = {
  consecutivePerAccountAndAddress: 5,
  lockSeconds: 5 * 60,
  perAddressPerDay: 100,
  perAccountPerHour: 50,
  accountLockSeconds: 15 * 60,
};

export const TOO_MANY_ATTEMPTS = 'TOO_MANY_ATTEMPTS';

export interface SignInThrottle {
  /** Takes one attempt for (email, address); throws TOO_MANY_ATTEMPTS (with retryAfter seconds) when locked. */
  attempt(email: string, address: string): Promise<void>;
  /** After a successful sign-in: the attempt is given back and the consecutive failures forgotten. */
  succeeded(email: string, address: string): Promise<void>;
  /** A failure that is not a password guess (a taken email at register) counted against the address. */
  penalise(address: string): Promise<void>;
  /** Throws TOO_MANY_ATTEMPTS while the address is over its daily failures. */
  checkAddress(address: string): Promise<void>;
  close(): Promise<void>;
}

export interface SignInThrottleOptions {
  /** Without it (tests of other things), counts in this process only. */
  redisUrl?: string;
  keyPrefix: string;
  limits?: Partial<SignInThrottleLimits>;
  logger?: Logger;
}

export function tooManyAttempts(retryAfterSeconds: number): GraphQLError {
  return new GraphQLError(`Too many sign-in attempts; try again in ${retryAfterSeconds} s`, {
    extensions: { code: TOO_MANY_ATTEMPTS, retryAfter: retryAfterSeconds },
  });
}

// Emails are personal data: Redis keeps a digest, never the address itself.
const digest = (value: string) => createHash('sha256').update(value).digest('base64url').slice(0, 22);
const accountKey = (email: string) => digest(email.trim().toLowerCase());

export async function createSignInThrottle(opts: SignInThrottleOptions): Promise<SignInThrottle> {
  const limits = { ...defaultSignInLimits, ...opts.limits };
  let redis: Redis | undefined;
  if (opts.redisUrl) {
    redis = new Redis(opts.redisUrl, { enableOfflineQueue: false, maxRetriesPerRequest: 1, commandTimeout: 1_000, lazyConnect: true });
    redis.on('error', (error: Error) => opts.logger?.warn({ reason: error.message }, 'sign-in throttling: Redis unavailable, counting in this process'));
    await Promise.race([redis.connect().catch(() => {}), new Promise((resolve) => setTimeout(resolve, 2_000).unref())]);
  }
  // When Redis is down each replica still counts on its own (rate-limiter-flexible's insurance limiter).
  const limiter = (name: string, points: number, duration: number, blockDuration: number): RateLimiterAbstract => {
    const options = { keyPrefix: `${opts.keyPrefix}:${name}`, points, duration, blockDuration };
    const memory = new RateLimiterMemory(options);
    return redis ? new RateLimiterRedis({ ...options, storeClient: redis, insuranceLimiter: memory }) : memory;
  };
  // Failures count as consecutive for an hour; the lock then lasts lockSeconds and clears the count.
  const byAccountAndAddress = limiter('account-address', limits.consecutivePerAccountAndAddress, 3600, limits.lockSeconds);
  const byAddress = limiter('address-day', limits.perAddressPerDay, 24 * 3600, 24 * 3600);
  const byAccount = limiter('account-hour', limits.perAccountPerHour, 3600, limits.accountLockSeconds);

  const refuse = (error: unknown): never => {
    if (error instanceof RateLimiterRes) throw tooManyAttempts(Math.max(1, Math.ceil(error.msBeforeNext / 1000)));
    throw error;
  };
  const addressKey = (address: string) => address || 'unknown';

  return {
    async attempt(email, address) {
      const account = accountKey(email);
      await Promise.all([
        byAccountAndAddress.consume(`${account}:${addressKey(address)}`),
        byAddress.consume(addressKey(address)),
        byAccount.consume(account),
      ]).catch(refuse);
    },
    async succeeded(email, address) {
      const account = accountKey(email);
      await Promise.all([
        byAccountAndAddress.delete(`${account}:${addressKey(address)}`),
        byAddress.reward(addressKey(address), 1),
        byAccount.reward(account, 1),
      ]).catch(() => {});
    },
    async penalise(address) {
      await byAddress.penalty(addressKey(address), 1).catch(() => {});
    },
    async checkAddress(address) {
      const state = await byAddress.get(addressKey(address)).catch(() => null);
      if (state && state.consumedPoints >= limits.perAddressPerDay) refuse(state);
    },
    async close() {
      redis?.disconnect();
    },
  };
}

/** Deletes every key under `keyPrefix` (tests clean up after themselves). */
export async function deleteSignInKeys(redisUrl: string, keyPrefix: string): Promise<void> {
  await deleteRedisKeys(redisUrl, keyPrefix);
}
