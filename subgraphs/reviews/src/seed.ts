import { seedReviews } from '@mercado/dev-seed';
import type { Db } from './db.ts';

/** Idempotent: inserts the development reviews, skipping ids (and author/product pairs) already there. */
export async function seed(db: Db): Promise<number> {
  await db.review.createMany({ data: seedReviews, skipDuplicates: true });
  return seedReviews.length;
}
