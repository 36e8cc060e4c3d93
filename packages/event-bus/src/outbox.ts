import type { IntegrationEvent } from './envelope.ts';

/**
 * The slice of a Prisma transaction client the outbox needs. Every producing service has an
 * "OutboxEvent" table of the same shape in its own database (see prisma/<service>/schema.prisma).
 */
export interface SqlTransaction {
  $executeRaw(query: TemplateStringsArray, ...values: unknown[]): PromiseLike<number>;
}

/** Channel the relay listens on; NOTIFY is delivered on commit, so it never fires for a rollback. */
export const OUTBOX_CHANNEL = 'mercado_outbox';

/**
 * Appends events to the outbox inside the caller's transaction: they are published if and
 * only if the state change commits.
 */
export async function appendToOutbox(tx: SqlTransaction, ...events: IntegrationEvent[]): Promise<void> {
  for (const e of events) {
    await tx.$executeRaw`
      INSERT INTO "OutboxEvent" ("id", "type", "source", "aggregateId", "version", "occurredAt", "payload")
      VALUES (${e.id}::uuid, ${e.type}, ${e.source}, ${e.aggregateId}, ${e.version}, ${e.occurredAt}::timestamptz, ${JSON.stringify(e.payload)}::jsonb)`;
  }
  if (events.length) await tx.$executeRaw`SELECT pg_notify(${OUTBOX_CHANNEL}, '')`;
}
