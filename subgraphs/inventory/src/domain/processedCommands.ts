import { runOnce as sharedRunOnce } from '@mercado/saga';
import type { Db, Tx } from '../db.ts';
import type { Prisma } from '../generated/prisma/client.ts';

/**
 * Generous: under a burst of reservations for a few products, each transaction waits for the
 * stock rows' locks and for a pooled connection; the defaults (2 s to start, 5 s to run) would
 * fail commands that are merely queued. Waiting for a connection holds no lock, so it may last
 * longer than running, which holds the stock rows' locks.
 */
const transactionOptions = { maxWait: 60_000, timeout: 15_000 };

/** Runs `effect` once per (sagaId, step); see @mercado/saga's runOnce. */
export function runOnce<T extends Prisma.InputJsonObject>(db: Db, key: { sagaId: string; step: string }, effect: (tx: Tx) => Promise<T>): Promise<T> {
  return sharedRunOnce<Tx, T>(db, key, effect, transactionOptions);
}
