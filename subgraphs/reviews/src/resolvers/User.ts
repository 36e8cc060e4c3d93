import type { ReviewsContext } from '../context.ts';
import { pageSize } from '../domain/reviews.ts';

export const User = {
  reviews: (user: { id: string }, args: { first: number }, ctx: ReviewsContext) =>
    ctx.reviewsByAuthor.load({ id: user.id, first: pageSize(args.first) }),
};
