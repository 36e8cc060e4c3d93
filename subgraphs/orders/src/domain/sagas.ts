import type { Db } from '../db.ts';
import type { Saga, SagaStep } from '../generated/prisma/client.ts';

export type SagaWithSteps = Saga & { steps: SagaStep[] };

/** The most recent saga of each order (cancelling after placing), steps in order; one query. */
export async function latestSagasByOrderIds(db: Db, orderIds: readonly string[]): Promise<Array<SagaWithSteps | null>> {
  const sagas = await db.saga.findMany({
    where: { orderId: { in: [...orderIds] } },
    include: { steps: { orderBy: { position: 'asc' } } },
    orderBy: { createdAt: 'asc' },
  });
  const latest = new Map<string, SagaWithSteps>();
  for (const s of sagas) latest.set(s.orderId, s);
  return orderIds.map((id) => latest.get(id) ?? null);
}
