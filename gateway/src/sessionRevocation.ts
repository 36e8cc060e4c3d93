import type { Redis } from 'ioredis';
import { isSessionRevoked, type Logger } from '@mercado/service-kit';
import { connectDoorRedis } from './doorRedis.ts';

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
 * one Redis read per signed-in request, sent in the same write as the request's rate-limit count
 * (gateway.ts) and pipelined with the others in flight. When Redis cannot
 * answer the token is accepted and a warning logged: the rate limiter fails the same way, and a
 * token lives an hour at most, while refusing every signed-in user would be a full outage.
 */
export async function createSessionRevocationCheck(opts: SessionRevocationOptions, logger: Logger, doorRedis?: Redis): Promise<SessionRevocationCheck> {
  // `doorRedis`: the gateway's door connection (doorRedis.ts), which the check then does not close.
  const redis = doorRedis ?? (await connectDoorRedis(opts.redisUrl));
  let warned = false;
  const warn = (reason: string) => {
    if (!warned) logger.warn({ reason }, 'session revocation: Redis is unavailable, accepting tokens unchecked until it is back');
    warned = true;
  };
  redis.on('error', (error: Error) => warn(error.message));
  redis.on('ready', () => (warned = false));
  if (redis.status !== 'ready') warn('not connected');
  return {
    async isRevoked(userId, startedAtMs) {
      try {
        return await isSessionRevoked(redis, opts.prefix, userId, startedAtMs);
      } catch {
        return false;
      }
    },
    async close() {
      if (!doorRedis) redis.disconnect();
    },
  };
}
