import { parsePayload, type IntegrationEvent } from '@mercado/event-bus';
import { z } from 'zod';
import type { Tx } from '../db.ts';

// Orders' own reading of the catalog's product events: the fields it prices orders with.
const productState = z.object({
  sku: z.string(),
  name: z.string(),
  priceCents: z.number().int().min(0),
  currency: z.string().length(3),
});

/** catalog.ProductCreated / ProductPriceChanged / ProductSnapshotPublished: newest version wins. */
export async function onProductState(event: IntegrationEvent, tx: Tx): Promise<void> {
  const p = parsePayload(productState, event);
  await tx.$executeRaw`
    INSERT INTO "ProductReplica" ("id", "sku", "name", "priceCents", "currency", "version", "updatedAt")
    VALUES (${event.aggregateId}::uuid, ${p.sku}, ${p.name}, ${p.priceCents}, ${p.currency}, ${event.version}, now())
    ON CONFLICT ("id") DO UPDATE SET "sku" = EXCLUDED."sku", "name" = EXCLUDED."name", "priceCents" = EXCLUDED."priceCents",
      "currency" = EXCLUDED."currency", "version" = EXCLUDED."version", "updatedAt" = now()
    WHERE "ProductReplica"."version" < EXCLUDED."version"`;
}
