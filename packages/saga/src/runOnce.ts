/**
 * The participant side of "exactly one effect": runs `effect` once per (sagaId, step) in the
 * participant's own database. The step's row in its "ProcessedCommand" table is claimed before
 * the effect and the result stored in the same transaction, so a redelivered command gets the
 * stored result and changes nothing, and an effect that fails leaves no row (the retry acts afresh).
 */
export interface RawSql {
  $executeRaw(query: TemplateStringsArray, ...values: unknown[]): PromiseLike<number>;
  $queryRaw<T = unknown>(query: TemplateStringsArray, ...values: unknown[]): PromiseLike<T>;
}

export interface TransactionalDb<Tx extends RawSql> {
  $transaction<R>(fn: (tx: Tx) => Promise<R>, options?: { maxWait?: number; timeout?: number }): Promise<R>;
}

export async function runOnce<Tx extends RawSql, T>(
  db: TransactionalDb<Tx>,
  key: { sagaId: string; step: string },
  effect: (tx: Tx) => Promise<T>,
  options: { maxWait?: number; timeout?: number } = {},
): Promise<T> {
  const { sagaId, step } = key;
  return db.$transaction(async (tx) => {
    // A concurrent duplicate blocks on this insert until the first transaction ends; if that
    // one committed, the insert does nothing and the stored result is read below.
    const claimed = await tx.$executeRaw`
      INSERT INTO "ProcessedCommand" ("sagaId", "step", "result")
      VALUES (${sagaId}, ${step}, 'null'::jsonb)
      ON CONFLICT ("sagaId", "step") DO NOTHING`;
    if (claimed === 0) {
      const [done] = await tx.$queryRaw<Array<{ result: T }>>`
        SELECT "result" FROM "ProcessedCommand" WHERE "sagaId" = ${sagaId} AND "step" = ${step}`;
      return done!.result;
    }
    const result = await effect(tx);
    await tx.$executeRaw`
      UPDATE "ProcessedCommand" SET "result" = ${JSON.stringify(result)}::jsonb WHERE "sagaId" = ${sagaId} AND "step" = ${step}`;
    return result;
  }, options);
}
