import { parsePayload, type IntegrationEvent } from '@mercado/event-bus';
import { z } from 'zod';
import type { Tx } from '../db.ts';

const customerState = z.object({ name: z.string(), email: z.string() });

/** accounts.UserRegistered / UserSnapshotPublished: the customer's name and email. */
export async function onCustomerState(event: IntegrationEvent, tx: Tx): Promise<void> {
  const c = parsePayload(customerState, event);
  await tx.$executeRaw`
    INSERT INTO "CustomerReplica" ("id", "name", "email", "version", "updatedAt")
    VALUES (${event.aggregateId}::uuid, ${c.name}, ${c.email}, ${event.version}, now())
    ON CONFLICT ("id") DO UPDATE SET "name" = EXCLUDED."name", "email" = EXCLUDED."email", "version" = EXCLUDED."version", "updatedAt" = now()
    WHERE "CustomerReplica"."version" < EXCLUDED."version"`;
}
