import { Redis } from 'ioredis';

const CONNECT_WAIT_MS = 2_000;

/**
 * The gateway's connection to Redis for the checks at its door (rate limit, session revocation).
 * No offline queue and a short command timeout: a request must never wait on a Redis that is not
 * there; each check degrades its own way instead (rateLimit.ts, sessionRevocation.ts).
 * Auto-pipelined: commands issued together (a signed-in request's revocation read and its
 * rate-limit count, and those of other requests in the same tick) go to Redis in one write, and
 * a socket write is what a Redis command mostly costs the gateway. Waits at most 2 s for the
 * first connection; ioredis keeps trying after that.
 */
export async function connectDoorRedis(url: string): Promise<Redis> {
  const redis = new Redis(url, { enableOfflineQueue: false, maxRetriesPerRequest: 1, commandTimeout: 500, lazyConnect: true, enableAutoPipelining: true });
  // Each check listens for errors itself; this one only keeps an error before they do from being unhandled.
  redis.on('error', () => {});
  await Promise.race([redis.connect().catch(() => {}), new Promise((resolve) => setTimeout(resolve, CONNECT_WAIT_MS).unref())]);
  return redis;
}
