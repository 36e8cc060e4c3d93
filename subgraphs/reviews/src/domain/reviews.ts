import * as z from 'zod';
import { assertId, badInput, conflict, isId, notFound, parseInput } from '@mercado/service-kit';
import type { Db } from '../db.ts';
import { Prisma, type Review } from '../generated/prisma/client.ts';

export type { Review };

const MAX_PAGE = 50;

/** A page request for one parent: the parent's id and how many newest reviews it wants. */
export interface PageKey {
  id: string;
  first: number;
}

export function pageSize(first: number): number {
  if (!Number.isInteger(first) || first < 1 || first > MAX_PAGE) {
    throw badInput(`first must be between 1 and ${MAX_PAGE}`, 'first');
  }
  return first;
}

const parentColumn = {
  productId: Prisma.sql`"productId"`,
  authorId: Prisma.sql`"authorId"`,
};

/**
 * Newest reviews of many parents (products or authors), at most `first` each. One SQL query per
 * distinct `first` in the batch (normally one): the window function cuts each parent's reviews
 * in the database, so a product with 10,000 reviews still sends back only `first` rows.
 * Malformed ids get an empty list rather than a database error.
 */
export async function newestReviewsBy(
  db: Db,
  parent: keyof typeof parentColumn,
  keys: readonly PageKey[],
): Promise<Review[][]> {
  const idsByFirst = new Map<number, Set<string>>();
  for (const { id, first } of keys) {
    if (!isId(id)) continue;
    let ids = idsByFirst.get(first);
    if (!ids) idsByFirst.set(first, (ids = new Set()));
    ids.add(id.toLowerCase());
  }
  const column = parentColumn[parent];
  const pages = new Map<string, Review[]>();
  await Promise.all(
    [...idsByFirst].map(async ([first, ids]) => {
      const rows = await db.$queryRaw<Review[]>`
        select id, "productId", "authorId", rating, body, "createdAt"
        from (
          select *, row_number() over (partition by ${column} order by "createdAt" desc, id) as rn
          from "Review"
          where ${column} = ANY(${[...ids]}::uuid[])
        ) ranked
        where rn <= ${first}
        order by ${column}, rn`;
      for (const row of rows) {
        const key = `${row[parent]}:${first}`;
        const page = pages.get(key);
        if (page) page.push(row);
        else pages.set(key, [row]);
      }
    }),
  );
  return keys.map(({ id, first }) => pages.get(`${id.toLowerCase()}:${first}`) ?? []);
}

/** Mean rating of each product in one grouped query; null for products without reviews. */
export async function averageRatings(db: Db, productIds: readonly string[]): Promise<Array<number | null>> {
  const ids = [...new Set(productIds.filter(isId).map((id) => id.toLowerCase()))];
  const groups = ids.length
    ? await db.review.groupBy({ by: ['productId'], where: { productId: { in: ids } }, _avg: { rating: true } })
    : [];
  const byProduct = new Map(groups.map((g) => [g.productId, g._avg.rating]));
  return productIds.map((id) => byProduct.get(id.toLowerCase()) ?? null);
}

/** One query for any number of ids; the result is in the order of `ids`, null where unknown. */
export async function reviewsByIds(db: Db, ids: readonly string[]): Promise<Array<Review | null>> {
  const rows = await db.review.findMany({ where: { id: { in: ids.filter(isId).map((id) => id.toLowerCase()) } } });
  const byId = new Map(rows.map((r) => [r.id, r]));
  return ids.map((id) => byId.get(id.toLowerCase()) ?? null);
}

const newReview = z.object({
  rating: z.number().int('rating must be a whole number').min(1, 'rating is 1 to 5').max(5, 'rating is 1 to 5'),
  body: z.string().trim().min(1, 'body is required').max(2000, 'body is at most 2000 characters'),
});

export interface AddReviewInput {
  productId: string;
  rating: number;
  body: string;
}

export async function addReview(db: Db, authorId: string, input: AddReviewInput): Promise<Review> {
  const productId = assertId(input.productId, 'productId');
  const { rating, body } = parseInput(newReview, { rating: input.rating, body: input.body });
  // Which products exist, this service knows from the catalog's events (its ProductReplica),
  // without calling the catalog. A product created a moment ago may not have arrived yet: the
  // client is told it was not found and can try again.
  if (!(await db.productReplica.findUnique({ where: { id: productId }, select: { id: true } }))) throw notFound('Product', productId);
  try {
    return await db.review.create({ data: { productId, authorId, rating, body } });
  } catch (error) {
    // The unique index is the real guard: a pre-check would race with a concurrent addReview.
    if (error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2002') {
      throw conflict('You have already reviewed this product; each customer can review a product once');
    }
    throw error;
  }
}
