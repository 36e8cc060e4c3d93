import { Redis } from 'ioredis';
import { isSessionRevoked, type Logger } from '@mercado/service-kit';

export interface SessionRevocationOptions {
  redisUrl: string;
  /** The prefix accounts records sign-outs under (npm start: the stack's name, as SAGA_PREFIX). */
  prefix: string;
}

export interface SessionRevocationCheck {
  /** Whether the user's session that started at `startedAtMs` was ended (sign-out, password change). */
  isRevoked(userId: string, startedAtMs: number): Promise<boolean>;
  close(): Promise<void>;
}

/**
 * The gateway's side of revoking sign-ins (the protocol is service-kit's sessionRevocation.ts):
 * one Redis read per signed-in request, pipelined with the others in flight. When Redis cannot
 * answer the token is accepted and a warning logged: the rate limiter fails the same way, and a
 * token lives an hour at most, while refusing every signed-in user would be a full outage.
 */
export async function createSessionRevocationCheck(opts: SessionRevocationOptions, logger: Logger): Promise<SessionRevocationCheck> {
  const redis = new Redis(opts.redisUrl, { enableOfflineQueue: false, maxRetriesPerRequest: 1, commandTimeout: 500, lazyConnect: true, enableAutoPipelining: true });
  let warned = false;
  redis.on('error', (error: Error) => {
    if (!warned) logger.warn({ reason: error.message }, 'session revocation: Redis is unavailable, accepting tokens unchecked until it is back');
    warned = true;
  });
  redis.on('ready', () => (warned = false));
  await Promise.race([redis.connect().catch(() => {}), new Promise((resolve) => setTimeout(resolve, 2_000).unref())]);
  return {
    async isRevoked(userId, startedAtMs) {
      try {
        return await isSessionRevoked(redis, opts.prefix, userId, startedAtMs);
      } catch {
        return false;
      }
    },
    async close() {
      redis.disconnect();
    },
  };
}
