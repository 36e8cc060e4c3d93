import type { Db, Tx } from '../db.ts';
import type { Prisma } from '../generated/prisma/client.ts';

/**
 * Generous: under a burst of reservations for a few products, each transaction waits for the
 * stock rows' locks and for a pooled connection; the defaults (2 s to start, 5 s to run) would
 * fail commands that are merely queued. Waiting for a connection holds no lock, so it may last
 * longer than running, which holds the stock rows' locks.
 */
const transactionOptions = { maxWait: 60_000, timeout: 15_000 };

/**
 * Runs `effect` once per (sagaId, step). The command's row is claimed before the effect and
 * its result stored in the same transaction, so a redelivered command gets the stored result
 * and changes nothing, and an effect that fails leaves no row behind (the retry acts afresh).
 */
export async function runOnce<T extends Prisma.InputJsonObject>(
  db: Db,
  key: { sagaId: string; step: string },
  effect: (tx: Tx) => Promise<T>,
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
      const done = await tx.processedCommand.findUniqueOrThrow({ where: { sagaId_step: { sagaId, step } } });
      return done.result as T;
    }
    const result = await effect(tx);
    await tx.processedCommand.update({ where: { sagaId_step: { sagaId, step } }, data: { result } });
    return result;
  }, transactionOptions);
}

/** Whether the saga has already carried out `step` (committed). */
export async function hasProcessed(tx: Tx, key: { sagaId: string; step: string }): Promise<boolean> {
  return (await tx.processedCommand.count({ where: key })) > 0;
}
