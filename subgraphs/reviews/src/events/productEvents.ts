import { newestPerAggregate, type BatchEventHandler } from '@mercado/event-bus';
import { z } from 'zod';
import type { Tx } from '../db.ts';

/** Reviews reads nothing of a product event's payload: the event itself says the product exists. */
export const productExists = z.object({});

/** catalog.ProductCreated / ProductPriceChanged / ProductSnapshotPublished: which products exist, newest version wins. */
export const recordProducts: BatchEventHandler<Tx> = {
  async batch(events, tx) {
    const products = newestPerAggregate(events);
    await tx.$executeRaw`
      INSERT INTO "ProductReplica" ("id", "version", "updatedAt")
      SELECT p.*, now() FROM unnest(${products.map((p) => p.aggregateId)}::uuid[], ${products.map((p) => p.version)}::int[]) AS p
      ON CONFLICT ("id") DO UPDATE SET "version" = EXCLUDED."version", "updatedAt" = now()
      WHERE "ProductReplica"."version" < EXCLUDED."version"`;
  },
};
