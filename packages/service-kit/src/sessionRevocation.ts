import type { Redis } from 'ioredis';

/**
 * Revoking sign-ins, shared by accounts (which revokes) and the gateway (which checks), in one
 * place. Accounts' tokens carry `sat`, the time the sign-in happened in milliseconds. Signing out
 * or changing the password records "no session of this user that started before now" in Redis
 * under `<prefix>:sessions:not-before:<userId>`, kept as long as a token lives; the gateway
 * refuses a token whose `sat` is older than that.
 */
export const SESSION_START_CLAIM = 'sat';

export const notBeforeKey = (prefix: string, userId: string) => `${prefix}:sessions:not-before:${userId}`;

/** Ends every session of the user that started before now; returns that time (ms). */
export async function revokeSessions(redis: Redis, prefix: string, userId: string, tokenTtlSeconds: number): Promise<number> {
  const now = Date.now();
  // A little longer than a token lives, so that no token it revokes outlives the record.
  await redis.set(notBeforeKey(prefix, userId), String(now), 'EX', tokenTtlSeconds + 60);
  return now;
}

/** When the token's session started (ms): `sat`, or `iat` for a token issued without it. */
export function sessionStart(payload: { iat?: number; [claim: string]: unknown }): number {
  const sat = payload[SESSION_START_CLAIM];
  return typeof sat === 'number' ? sat : (payload.iat ?? 0) * 1000;
}

/** Whether a session that started at `startedAtMs` has been revoked since. */
export async function isSessionRevoked(redis: Redis, prefix: string, userId: string, startedAtMs: number): Promise<boolean> {
  const notBefore = await redis.get(notBeforeKey(prefix, userId));
  return notBefore !== null && startedAtMs < Number(notBefore);
}
