import { newestPerAggregate, parsePayload, type BatchEventHandler, type PgSql } from '@mercado/event-bus';
import * as z from 'zod';

// Our own reading of inventory's event: only the fields the catalog uses.
export const stockChanged = z.object({ available: z.number().int().min(0) });

/** inventory.StockChanged / StockSnapshotPublished: keep the replica the catalog answers Product.inStock from. */
export const applyStockChanges: BatchEventHandler<PgSql> = {
  async batch(events, tx) {
    const stock = newestPerAggregate(events).map((event) => ({ event, ...parsePayload(stockChanged, event) }));
    await tx.$executeRaw`
      INSERT INTO "StockReplica" ("productId", "available", "version")
      SELECT * FROM unnest(${stock.map((s) => s.event.aggregateId)}::uuid[], ${stock.map((s) => s.available)}::int[], ${stock.map((s) => s.event.version)}::int[])
      ON CONFLICT ("productId") DO UPDATE SET "available" = EXCLUDED."available", "version" = EXCLUDED."version"
      WHERE "StockReplica"."version" < EXCLUDED."version"`;
  },
};
