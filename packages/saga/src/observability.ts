import { Counter, Gauge, Histogram, register } from 'prom-client';

/**
 * What a saga's moves tell Prometheus (docs/observability.md): how long each step takes from
 * its command being sent to its reply being applied, how often a saga turns to compensation and
 * why, and how many sagas are in each state. Registered once per process.
 */
function metric<T>(name: string, create: () => T): T {
  return (register.getSingleMetric(name) as T | undefined) ?? create();
}

export const sagaMetrics = {
  stepDuration: metric(
    'mercado_saga_step_duration_seconds',
    () =>
      new Histogram({
        name: 'mercado_saga_step_duration_seconds',
        help: "Time from a saga step's command being sent to its reply being applied by the orchestrator, by step",
        labelNames: ['step'],
        buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      }),
  ),
  compensations: metric(
    'mercado_saga_compensations_total',
    () =>
      new Counter({
        name: 'mercado_saga_compensations_total',
        help: 'Sagas that turned to compensation, by saga type and the reason of the step that failed (a code such as OUT_OF_STOCK, DECLINED, TIMED_OUT)',
        labelNames: ['type', 'reason'],
      }),
  ),
};

/**
 * `mercado_sagas{type,state}`: sagas by type and state, read from the orchestrator's own table at
 * each scrape (one grouped count), so every replica reports the same truth rather than what it
 * happened to handle.
 */
export function sagaCountsGauge(count: () => Promise<Array<{ type: string; state: string; count: number }>>): void {
  if (register.getSingleMetric('mercado_sagas')) return;
  new Gauge({
    name: 'mercado_sagas',
    help: 'Sagas by type and state (RUNNING, COMPENSATING, COMPLETED, FAILED, ...), counted in the orchestrator database at each scrape',
    labelNames: ['type', 'state'],
    async collect() {
      this.reset();
      for (const row of await count()) this.set({ type: row.type, state: row.state }, row.count);
    },
  });
}
