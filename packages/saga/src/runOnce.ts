/**
 * The participant side of "exactly one effect": runs `effect` once per (sagaId, step) in the
 * participant's own database. The effect runs first and the step's row in its "ProcessedCommand"
 * table is inserted with the result at the end of the same transaction (`ON CONFLICT DO NOTHING`,
 * one statement): if another run of the same step got there first, this one rolls back whatever
 * its effect did and returns the stored result instead. A concurrent duplicate waits on that
 * insert until the first transaction ends, so exactly one effect commits; an effect that fails
 * leaves no row (the retry acts afresh).
 */
export interface RawSql {
  $executeRaw(query: TemplateStringsArray, ...values: unknown[]): PromiseLike<number>;
  $queryRaw<T = unknown>(query: TemplateStringsArray, ...values: unknown[]): PromiseLike<T>;
}

export interface TransactionalDb<Tx extends RawSql> {
  $transaction<R>(fn: (tx: Tx) => Promise<R>, options?: { maxWait?: number; timeout?: number }): Promise<R>;
}

/** Thrown inside the transaction to roll back an effect another run of the step has already committed. */
class AlreadyDone extends Error {}

export async function runOnce<Tx extends RawSql, T>(
  db: TransactionalDb<Tx> & RawSql,
  key: { sagaId: string; step: string },
  effect: (tx: Tx) => Promise<T>,
  options: { maxWait?: number; timeout?: number } = {},
): Promise<T> {
  const { sagaId, step } = key;
  try {
    return await db.$transaction(async (tx) => {
      const result = await effect(tx);
      const recorded = await recordResult(tx, key, result);
      if (!recorded) throw new AlreadyDone();
      return result;
    }, options);
  } catch (error) {
    if (!(error instanceof AlreadyDone)) throw error;
    const stored = await storedResult<T>(db, key);
    if (stored === undefined) throw new Error(`saga ${sagaId} step ${step}: recorded by another run, yet not found`);
    return stored;
  }
}

/** Records a step's result unless the step has one already; true when this call recorded it. */
export async function recordResult(tx: RawSql, key: { sagaId: string; step: string }, result: unknown): Promise<boolean> {
  const inserted = await tx.$executeRaw`
    INSERT INTO "ProcessedCommand" ("sagaId", "step", "result", "createdAt")
    VALUES (${key.sagaId}, ${key.step}, ${JSON.stringify(result)}::jsonb, now())
    ON CONFLICT ("sagaId", "step") DO NOTHING`;
  return inserted === 1;
}

/** The result a step stored, or undefined if it has not run. */
export async function storedResult<T>(db: RawSql, key: { sagaId: string; step: string }): Promise<T | undefined> {
  const rows = await db.$queryRaw<Array<{ result: T }>>`SELECT "result" FROM "ProcessedCommand" WHERE "sagaId" = ${key.sagaId} AND "step" = ${key.step}`;
  return rows[0]?.result;
}

/**
 * Deletes run-once records older than `days` (by the createdAt index), in batches: by then no
 * command of their saga is still being delivered. Returns how many went.
 */
export async function pruneProcessedCommands(db: RawSql, days = 14, batch = 5_000): Promise<number> {
  let pruned = 0;
  for (;;) {
    const n = await db.$executeRaw`
      DELETE FROM "ProcessedCommand" WHERE ("sagaId", "step") IN (
        SELECT "sagaId", "step" FROM "ProcessedCommand" WHERE "createdAt" < now() - ${days} * interval '1 day' LIMIT ${batch})`;
    pruned += n;
    if (n < batch) return pruned;
  }
}
