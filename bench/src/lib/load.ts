/**
 * One load round with autocannon: fixed connections, a warm-up then a measured interval in
 * the same run (no connection churn, no abandoned requests between the two), every
 * response checked.
 */
import autocannon from 'autocannon';

export interface LoadTarget {
  url: string;
  body: string;
  /** Headers for this round (a fresh signed token, a login token). */
  headers: Record<string, string>;
  /** `data` every response must carry, serialized; a sample of responses is compared to it. */
  expectedData?: string;
}

export interface RoundResult {
  rps: number;
  p50: number;
  p95: number;
  p99: number;
  requests: number;
  errors: number;
  /** What the errors were, for the progress line. */
  errorKinds: Record<string, number>;
}

/** One in this many successful responses is parsed and compared with the expected data. */
const SAMPLE_EVERY = 25;

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

let current: { stop(): void } | undefined;

/** Stops the round in flight (Ctrl-C). */
export function stopLoad(): void {
  current?.stop();
}

export function runLoad(
  target: LoadTarget,
  opts: { connections: number; warmupSec: number; durationSec: number; onMeasureStart?: () => void },
): Promise<RoundResult> {
  const latencies: number[] = [];
  const kinds: Record<string, number> = {};
  let measuring = opts.warmupSec <= 0;
  const count = (kind: string) => {
    if (measuring) kinds[kind] = (kinds[kind] ?? 0) + 1;
  };
  let ok = 0;

  return new Promise((resolve, reject) => {
    let started = process.hrtime.bigint();
    const startMeasuring = () => {
      measuring = true;
      started = process.hrtime.bigint();
      opts.onMeasureStart?.();
    };
    if (measuring) opts.onMeasureStart?.();
    const warmup = measuring ? undefined : setTimeout(startMeasuring, opts.warmupSec * 1000);
    const instance = autocannon(
      {
        url: target.url,
        connections: opts.connections,
        duration: opts.warmupSec + opts.durationSec,
        timeout: 30,
        requests: [
          {
            method: 'POST',
            headers: { 'content-type': 'application/json', ...target.headers },
            body: target.body,
            onResponse: (status, body) => {
              if (status < 200 || status > 299) return count(`HTTP ${status}`);
              // A GraphQL error anywhere in the response counts, as in the public benchmark's check.
              if (body.includes('"errors"')) return count('GraphQL errors');
              if (target.expectedData && ++ok % SAMPLE_EVERY === 0) {
                let data: string | undefined;
                try {
                  data = JSON.stringify((JSON.parse(body) as { data?: unknown }).data);
                } catch {}
                if (data !== target.expectedData) count('wrong data');
              }
            },
          },
        ],
      },
      (err, result) => {
        current = undefined;
        clearTimeout(warmup);
        if (err) return reject(err);
        const seconds = Number(process.hrtime.bigint() - started) / 1e9;
        // autocannon counts these over the whole run, warm-up included.
        if (result.errors > result.timeouts) kinds['socket errors'] = result.errors - result.timeouts;
        if (result.timeouts) kinds.timeouts = result.timeouts;
        latencies.sort((a, b) => a - b);
        resolve({
          rps: measuring ? latencies.length / seconds : 0,
          p50: percentile(latencies, 50),
          p95: percentile(latencies, 95),
          p99: percentile(latencies, 99),
          requests: latencies.length,
          errors: Object.values(kinds).reduce((a, b) => a + b, 0),
          errorKinds: kinds,
        });
      },
    );
    current = instance;
    instance.on('response', (_client: unknown, _status: number, _bytes: number, responseTime: number) => {
      if (measuring) latencies.push(responseTime);
    });
  });
}
