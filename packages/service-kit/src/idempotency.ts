import { createHash } from 'node:crypto';
import * as z from 'zod';
import { conflict } from './errors.ts';
import { parseInput } from './validation.ts';

/** The slice of a Prisma transaction client the request ledger needs. */
export interface RawSql {
  $executeRaw(query: TemplateStringsArray, ...values: unknown[]): PromiseLike<number>;
  $queryRaw<T = unknown>(query: TemplateStringsArray, ...values: unknown[]): PromiseLike<T>;
}

export interface TransactionalDb<Tx extends RawSql> {
  $transaction<R>(fn: (tx: Tx) => Promise<R>, options?: { maxWait?: number; timeout?: number }): Promise<R>;
}

/** The idempotency keys clients choose: 8 to 100 letters, digits, - or _ (as placeOrder's). */
export const idempotencyKey = z.string().regex(/^[A-Za-z0-9_-]{8,100}$/, 'idempotencyKey is 8 to 100 letters, digits, - or _');

export interface KeyedRequest {
  /** Whose keys these are and for what, e.g. `restock:<admin id>`: keys of different scopes never meet. */
  scope: string;
  /** The client's key; validated here (BAD_USER_INPUT naming `idempotencyKey`). */
  key: string;
  /** What was asked: the same key with another request is a CONFLICT, not a replay. */
  request: unknown;
}

/**
 * Runs `effect` once per (scope, key) in the service's own database, so that a client whose
 * answer was lost (a replica restarted, a connection dropped) can send the same request again
 * and get the first answer, with nothing done twice. The key's row in "IdempotentRequest" is
 * claimed before the effect and the answer stored in the same transaction: a concurrent
 * duplicate waits for the first to commit and then reads its answer; an effect that fails leaves
 * no row, so a retry acts afresh. The answer must be JSON.
 */
export async function onceForKey<Tx extends RawSql, T>(
  db: TransactionalDb<Tx>,
  request: KeyedRequest,
  effect: (tx: Tx) => Promise<T>,
): Promise<T> {
  const key = parseInput(z.object({ idempotencyKey }), { idempotencyKey: request.key }).idempotencyKey;
  const requestHash = createHash('sha256').update(JSON.stringify(request.request)).digest('hex');
  return db.$transaction(async (tx) => {
    const claimed = await tx.$executeRaw`
      INSERT INTO "IdempotentRequest" ("scope", "key", "requestHash", "response")
      VALUES (${request.scope}, ${key}, ${requestHash}, 'null'::jsonb)
      ON CONFLICT ("scope", "key") DO NOTHING`;
    if (claimed === 0) {
      const [done] = await tx.$queryRaw<Array<{ requestHash: string; response: T }>>`
        SELECT "requestHash", "response" FROM "IdempotentRequest" WHERE "scope" = ${request.scope} AND "key" = ${key}`;
      if (done!.requestHash !== requestHash) throw conflict('This idempotencyKey was already used for a different request; use a new key for a new request');
      return done!.response;
    }
    const response = await effect(tx);
    await tx.$executeRaw`
      UPDATE "IdempotentRequest" SET "response" = ${JSON.stringify(response)}::jsonb WHERE "scope" = ${request.scope} AND "key" = ${key}`;
    return response;
  });
}
