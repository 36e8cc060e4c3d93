import { traceHeaders } from '@mercado/telemetry';
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
 * only if the state change commits. One statement whatever the number of events, and it wakes
 * the relay (NOTIFY is delivered at commit, never for a rollback). The trace the transaction runs
 * in goes with the rows (`traceparent`), so that the consumers' spans continue it.
 */
export async function appendToOutbox(tx: SqlTransaction, ...events: IntegrationEvent[]): Promise<void> {
  if (events.length === 0) return;
  const column = <T>(pick: (e: IntegrationEvent) => T) => events.map(pick);
  const traceparent = traceHeaders().traceparent ?? null;
  await tx.$executeRaw`
    WITH appended AS (
      INSERT INTO "OutboxEvent" ("id", "type", "source", "aggregateId", "version", "occurredAt", "payload", "traceparent")
      SELECT *, ${traceparent}::text FROM unnest(${column((e) => e.id)}::uuid[], ${column((e) => e.type)}::text[], ${column((e) => e.source)}::text[],
        ${column((e) => e.aggregateId)}::text[], ${column((e) => e.version)}::int[], ${column((e) => e.occurredAt)}::timestamptz[],
        ${column((e) => JSON.stringify(e.payload))}::jsonb[])
      RETURNING 1)
    SELECT pg_notify(${OUTBOX_CHANNEL}, '')`;
}
