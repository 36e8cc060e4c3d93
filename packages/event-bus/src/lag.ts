import { Histogram, register } from 'prom-client';

/**
 * Replication lag: time from the event's occurredAt (the producer's commit, near enough) to
 * the consumer's commit of its effect. Exported on each service's /metrics for Prometheus,
 * and kept as a window of recent samples for percentiles in benchmarks and logs.
 */
const histogram =
  (register.getSingleMetric('mercado_event_replication_lag_seconds') as Histogram<'consumer' | 'type'> | undefined) ??
  new Histogram({
    name: 'mercado_event_replication_lag_seconds',
    help: 'Time from an integration event occurring to its effect committed in the consumer',
    labelNames: ['consumer', 'type'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
  });

export class LagRecorder {
  private readonly samples: number[] = [];
  private next = 0;

  constructor(
    private readonly consumer: string,
    private readonly windowSize = 10_000,
  ) {}

  record(type: string, occurredAt: string, now = Date.now()): void {
    const ms = Math.max(0, now - Date.parse(occurredAt));
    histogram.observe({ consumer: this.consumer, type }, ms / 1000);
    if (this.samples.length < this.windowSize) this.samples.push(ms);
    else this.samples[this.next++ % this.windowSize] = ms;
  }

  /** Percentiles (ms) over the recent window; undefined before the first event. */
  percentiles(): { count: number; p50: number; p99: number; max: number } | undefined {
    if (this.samples.length === 0) return undefined;
    const sorted = [...this.samples].sort((a, b) => a - b);
    const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
    return { count: sorted.length, p50: at(0.5), p99: at(0.99), max: sorted.at(-1)! };
  }

  reset(): void {
    this.samples.length = 0;
    this.next = 0;
  }
}
