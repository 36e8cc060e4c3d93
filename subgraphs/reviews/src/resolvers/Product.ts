import type { ReviewsContext } from '../context.ts';
import { pageSize } from '../domain/reviews.ts';

type ProductRef = { id: string };

// No __resolveReference: reviews knows nothing about a product but its id, so the
// representation is the product. Both fields go through DataLoaders: 50 products, one query each.
export const Product = {
  reviews: (product: ProductRef, args: { first: number }, ctx: ReviewsContext) =>
    ctx.reviewsByProduct.load({ id: product.id, first: pageSize(args.first) }),
  averageRating: (product: ProductRef, _: unknown, ctx: ReviewsContext) => ctx.averageRatingByProduct.load(product.id),
};
