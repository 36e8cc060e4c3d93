import { newestPerAggregate, parsePayload, type BatchEventHandler, type PgSql } from '@mercado/event-bus';
import * as z from 'zod';

// Orders' own reading of the catalog's product events: the fields it prices orders with.
export const productState = z.object({
  sku: z.string(),
  name: z.string(),
  priceCents: z.number().int().min(0),
  currency: z.string().length(3),
});

/** catalog.ProductCreated / ProductPriceChanged / ProductSnapshotPublished: newest version wins. */
export const applyProductStates: BatchEventHandler<PgSql> = {
  async batch(events, tx) {
    const products = newestPerAggregate(events).map((event) => ({ event, ...parsePayload(productState, event) }));
    await tx.$executeRaw`
      INSERT INTO "ProductReplica" ("id", "sku", "name", "priceCents", "currency", "version", "updatedAt")
      SELECT p.*, now() FROM unnest(
        ${products.map((p) => p.event.aggregateId)}::uuid[], ${products.map((p) => p.sku)}::text[], ${products.map((p) => p.name)}::text[],
        ${products.map((p) => p.priceCents)}::int[], ${products.map((p) => p.currency)}::text[], ${products.map((p) => p.event.version)}::int[]) AS p
      ON CONFLICT ("id") DO UPDATE SET "sku" = EXCLUDED."sku", "name" = EXCLUDED."name", "priceCents" = EXCLUDED."priceCents",
        "currency" = EXCLUDED."currency", "version" = EXCLUDED."version", "updatedAt" = now()
      WHERE "ProductReplica"."version" < EXCLUDED."version"`;
  },
};
