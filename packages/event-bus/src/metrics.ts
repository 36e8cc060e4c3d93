import { Counter, Gauge, register } from 'prom-client';

/**
 * The event pipeline's Prometheus figures besides the replication lag (lag.ts): what waits in
 * each outbox and for how long, what each consumer has parked, what each relay has published.
 * Backlog and parked counts are read when Prometheus scrapes (one small query, one queue check
 * each), not kept up to date on every event.
 */
type OutboxBacklog = () => Promise<{ rows: number; oldestAgeSeconds: number }>;
type ParkedCount = () => Promise<number>;

const backlogs = new Map<string, OutboxBacklog>();
const parkingLots = new Map<string, ParkedCount>();

function metric<T>(name: string, create: () => T): T {
  return (register.getSingleMetric(name) as T | undefined) ?? create();
}

const oldestAge = metric(
  'mercado_outbox_oldest_event_age_seconds',
  () => new Gauge({ name: 'mercado_outbox_oldest_event_age_seconds', help: 'Age of the oldest event still in the outbox (0 when empty)', labelNames: ['service'] }),
);

metric(
  'mercado_outbox_events',
  () =>
    new Gauge({
      name: 'mercado_outbox_events',
      help: 'Events written to the outbox and not yet confirmed by the broker',
      labelNames: ['service'],
      async collect() {
        for (const [service, read] of backlogs) {
          try {
            const { rows, oldestAgeSeconds } = await read();
            this.set({ service }, rows);
            oldestAge.set({ service }, oldestAgeSeconds);
          } catch {
            // The database is unreachable: /ready says so; the series keep their last values.
          }
        }
      },
    }),
);

metric(
  'mercado_event_parked_messages',
  () =>
    new Gauge({
      name: 'mercado_event_parked_messages',
      help: "Messages in a consumer's parking lot, waiting for an operator (npm run events -- parked)",
      labelNames: ['consumer'],
      async collect() {
        for (const [consumer, read] of parkingLots) {
          try {
            this.set({ consumer }, await read());
          } catch {
            // The broker is unreachable: /ready says so.
          }
        }
      },
    }),
);

export const eventsPublished = metric(
  'mercado_events_published_total',
  () => new Counter({ name: 'mercado_events_published_total', help: 'Events the outbox relay published and the broker confirmed', labelNames: ['service'] }),
);

/** Reports a service's outbox on /metrics until the returned function is called. */
export function reportOutbox(service: string, read: OutboxBacklog): () => void {
  backlogs.set(service, read);
  return () => backlogs.delete(service);
}

/** Reports a consumer's parking lot on /metrics until the returned function is called. */
export function reportParkingLot(consumer: string, read: ParkedCount): () => void {
  parkingLots.set(consumer, read);
  return () => parkingLots.delete(consumer);
}
