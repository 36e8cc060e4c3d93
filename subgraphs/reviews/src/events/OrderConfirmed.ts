import { parsePayload, type IntegrationEvent } from '@mercado/event-bus';
import { z } from 'zod';
import type { Tx } from '../db.ts';

// Reviews' own reading of orders' event: who bought which products.
const orderConfirmed = z.object({
  customerId: z.string().uuid(),
  lines: z.array(z.object({ productId: z.string().uuid() })).min(1),
});

/** orders.OrderConfirmed: remember the purchases. A set, so replays and reordering are harmless. */
export async function onOrderConfirmed(event: IntegrationEvent, tx: Tx): Promise<void> {
  const { customerId, lines } = parsePayload(orderConfirmed, event);
  for (const productId of new Set(lines.map((l) => l.productId))) {
    await tx.$executeRaw`
      INSERT INTO "Purchase" ("customerId", "productId", "firstOrder", "createdAt")
      VALUES (${customerId}::uuid, ${productId}::uuid, ${event.aggregateId}::uuid, now())
      ON CONFLICT DO NOTHING`;
  }
}
