import { parsePayload, type BatchEventHandler, type PgSql } from '@mercado/event-bus';
import * as z from 'zod';

// Reviews' own reading of orders' event: who bought which products.
const orderConfirmed = z.object({
  customerId: z.string().uuid(),
  lines: z.array(z.object({ productId: z.string().uuid() })).min(1),
});

/** orders.OrderConfirmed: remember the purchases. A set, so replays and reordering are harmless. */
export const recordPurchases: BatchEventHandler<PgSql> = {
  async batch(events, tx) {
    const purchases = events.flatMap((event) => {
      const { customerId, lines } = parsePayload(orderConfirmed, event);
      return lines.map((line) => ({ customerId, productId: line.productId, order: event.aggregateId }));
    });
    await tx.$executeRaw`
      INSERT INTO "Purchase" ("customerId", "productId", "firstOrder", "createdAt")
      SELECT p.*, now() FROM unnest(${purchases.map((p) => p.customerId)}::uuid[], ${purchases.map((p) => p.productId)}::uuid[],
        ${purchases.map((p) => p.order)}::uuid[]) AS p
      ON CONFLICT DO NOTHING`;
  },
};
