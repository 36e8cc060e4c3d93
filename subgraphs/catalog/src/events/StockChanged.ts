import { parsePayload, type IntegrationEvent } from '@mercado/event-bus';
import { z } from 'zod';
import type { Tx } from '../db.ts';

// Our own reading of inventory's event: only the fields the catalog uses.
const stockChanged = z.object({ available: z.number().int().min(0) });

/** inventory.StockChanged: keep the replica the catalog answers Product.inStock from. */
export async function onStockChanged(event: IntegrationEvent, tx: Tx): Promise<void> {
  const { available } = parsePayload(stockChanged, event);
  await tx.$executeRaw`
    INSERT INTO "StockReplica" ("productId", "available", "version")
    VALUES (${event.aggregateId}::uuid, ${available}, ${event.version})
    ON CONFLICT ("productId") DO UPDATE SET "available" = EXCLUDED."available", "version" = EXCLUDED."version"
    WHERE "StockReplica"."version" < EXCLUDED."version"`;
}
