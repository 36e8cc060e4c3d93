import type { Db } from '../db.ts';

/** For keys `customerId:productId`, whether that customer bought that product; one query for all. */
export async function purchasedBy(db: Db, keys: readonly string[]): Promise<boolean[]> {
  const pairs = keys.map((k) => k.split(':') as [string, string]);
  const rows = await db.purchase.findMany({
    where: { OR: pairs.map(([customerId, productId]) => ({ customerId, productId })) },
    select: { customerId: true, productId: true },
  });
  const bought = new Set(rows.map((r) => `${r.customerId}:${r.productId}`));
  return keys.map((k) => bought.has(k));
}
