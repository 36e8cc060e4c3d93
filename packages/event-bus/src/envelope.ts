import { randomUUID } from 'node:crypto';
import * as z from 'zod';

/**
 * An integration event: a past-tense fact one service tells the others. `version` is the
 * aggregate's version after the change, so a consumer can tell newer from older and never go
 * backwards. Payloads carry the state consumers need (event-carried state transfer), not a
 * diff, so applying the newest event alone is always enough.
 */
export interface IntegrationEvent<P = unknown> {
  id: string;
  /** Past tense, e.g. ProductPriceChanged. */
  type: string;
  /** The service that owns the aggregate, e.g. catalog. */
  source: string;
  aggregateId: string;
  version: number;
  /** ISO 8601. */
  occurredAt: string;
  payload: P;
}

/** Only the envelope is shared; each consumer validates the payload fields it reads itself. */
export const envelopeSchema = z.object({
  id: z.string().uuid(),
  type: z.string().min(1),
  source: z.string().min(1),
  aggregateId: z.string().min(1),
  version: z.number().int().positive(),
  occurredAt: z.string().datetime({ offset: true }),
  payload: z.unknown(),
});

export function newEvent<P>(source: string, type: string, aggregateId: string, version: number, payload: P): IntegrationEvent<P> {
  return { id: randomUUID(), type, source, aggregateId, version, occurredAt: new Date().toISOString(), payload };
}

/** Routing key on the events exchange: `<source>.<type>`. */
export const routingKeyOf = (event: Pick<IntegrationEvent, 'source' | 'type'>) => `${event.source}.${event.type}`;
