import { newestPerAggregate, parsePayload, type BatchEventHandler, type PgSql } from '@mercado/event-bus';
import * as z from 'zod';

export const customerState = z.object({ name: z.string(), email: z.string() });

/** accounts.UserRegistered / UserSnapshotPublished: the customer's name and email, newest version wins. */
export const applyCustomerStates: BatchEventHandler<PgSql> = {
  async batch(events, tx) {
    const customers = newestPerAggregate(events).map((event) => ({ event, ...parsePayload(customerState, event) }));
    await tx.$executeRaw`
      INSERT INTO "CustomerReplica" ("id", "name", "email", "version", "updatedAt")
      SELECT c.*, now() FROM unnest(
        ${customers.map((c) => c.event.aggregateId)}::uuid[], ${customers.map((c) => c.name)}::text[], ${customers.map((c) => c.email)}::text[],
        ${customers.map((c) => c.event.version)}::int[]) AS c
      ON CONFLICT ("id") DO UPDATE SET "name" = EXCLUDED."name", "email" = EXCLUDED."email", "version" = EXCLUDED."version", "updatedAt" = now()
      WHERE "CustomerReplica"."version" < EXCLUDED."version"`;
  },
};
