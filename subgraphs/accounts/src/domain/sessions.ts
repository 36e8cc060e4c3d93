import { Redis } from 'ioredis';
import { graphQLError, revokeSessions } from '@mercado/service-kit';

/** Ends a user's sessions (sign-out, password change): the gateway refuses their older tokens. */
export interface Sessions {
  revokeAll(userId: string): Promise<void>;
  close(): Promise<void>;
}

export interface SessionsOptions {
  /** The Redis the gateway checks; without it sessions cannot be revoked (SERVICE_UNAVAILABLE). */
  redisUrl?: string;
  /** The gateway's prefix too (npm start: the stack's name). */
  prefix: string;
  tokenTtlSeconds: number;
}

const unavailable = () => graphQLError('SERVICE_UNAVAILABLE' as never, 'Sessions cannot be ended right now; try again shortly');

export function createSessions(opts: SessionsOptions): Sessions {
  // Unlike throttling, a revocation must not be counted in the process instead: it must reach
  // the gateway, or the caller is told it did not happen.
  const redis = opts.redisUrl ? new Redis(opts.redisUrl, { maxRetriesPerRequest: 1, commandTimeout: 2_000, lazyConnect: true }) : undefined;
  redis?.on('error', () => {});
  return {
    async revokeAll(userId) {
      if (!redis) throw unavailable();
      try {
        await revokeSessions(redis, opts.prefix, userId, opts.tokenTtlSeconds);
      } catch {
        throw unavailable();
      }
    },
    async close() {
      redis?.disconnect();
    },
  };
}
