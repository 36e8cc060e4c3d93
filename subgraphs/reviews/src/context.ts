import DataLoader from 'dataloader';
import type { InternalContext, Viewer } from '@mercado/service-kit';
import type { Db } from './db.ts';
import { purchasedBy } from './domain/purchases.ts';
import { averageRatings, newestReviewsBy, reviewsByIds, type PageKey, type Review } from './domain/reviews.ts';

export interface ReviewsContext {
  db: Db;
  viewer: Viewer | null;
  /** Request-scoped loaders, so N parents or references cost one query per field. */
  reviewById: DataLoader<string, Review | null>;
  reviewsByProduct: DataLoader<PageKey, Review[], string>;
  reviewsByAuthor: DataLoader<PageKey, Review[], string>;
  averageRatingByProduct: DataLoader<string, number | null>;
  /** Keyed `customerId:productId`. */
  purchased: DataLoader<string, boolean>;
}

const pageKey = ({ id, first }: PageKey) => `${id}:${first}`;

export function createContext(db: Db, internal: InternalContext): ReviewsContext {
  return {
    db,
    viewer: internal.viewer,
    reviewById: new DataLoader((ids) => reviewsByIds(db, ids)),
    reviewsByProduct: new DataLoader((keys) => newestReviewsBy(db, 'productId', keys), { cacheKeyFn: pageKey }),
    reviewsByAuthor: new DataLoader((keys) => newestReviewsBy(db, 'authorId', keys), { cacheKeyFn: pageKey }),
    averageRatingByProduct: new DataLoader((ids) => averageRatings(db, ids)),
    purchased: new DataLoader((keys) => purchasedBy(db, keys)),
  };
}
