import { requireViewer } from '@mercado/service-kit';
import type { ReviewsContext } from '../context.ts';
import { addReview, type AddReviewInput } from '../domain/reviews.ts';

export const Mutation = {
  addReview: (_: unknown, args: { input: AddReviewInput }, ctx: ReviewsContext) =>
    addReview(ctx.db, requireViewer(ctx.viewer).id, args.input),
};
