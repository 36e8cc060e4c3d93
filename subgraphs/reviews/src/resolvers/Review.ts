import { isId } from '@mercado/service-kit';
import type { ReviewsContext } from '../context.ts';
import type { Review as ReviewRow } from '../domain/reviews.ts';

export const Review = {
  // Batched through the request's DataLoader: 50 references, one SQL query.
  __resolveReference: (ref: { id: string }, ctx: ReviewsContext) => (isId(ref.id) ? ctx.reviewById.load(ref.id) : null),
  createdAt: (review: ReviewRow) => review.createdAt.toISOString(),
  verifiedPurchase: (review: ReviewRow, _: unknown, ctx: ReviewsContext) => ctx.purchased.load(`${review.authorId}:${review.productId}`),
  // References only: accounts and catalog resolve the rest of User and Product.
  author: (review: ReviewRow) => ({ id: review.authorId }),
  product: (review: ReviewRow) => ({ id: review.productId }),
};
