import type { RouteHandler } from './httpServer.ts';
import { sendJson } from './httpServer.ts';

/** Whether one dependency is usable now; a check that throws or takes too long counts as down. */
export type ReadinessCheck = () => boolean | Promise<boolean>;

export interface ReadinessReport {
  status: 'starting' | 'ready' | 'unavailable' | 'draining';
  /** Each dependency by name: up or down. Names only, never addresses: the answer is public. */
  checks: Record<string, 'up' | 'down'>;
  down?: string[];
}

/**
 * What `/ready` answers: 200 while every registered dependency is usable, 503 naming those that
 * are not, and 503 `draining` from the moment shutdown begins (a load balancer then stops sending
 * new requests while the ones in flight finish). `/health` stays a liveness check: a process that
 * waits for its database is alive, only not ready.
 *
 * Answers are computed at most once per `cacheMs` and shared by concurrent probes, so that a
 * flood of `/ready` requests costs the database one query per interval, not one each.
 */
export class Readiness {
  private readonly checks = new Map<string, ReadinessCheck>();
  private draining = false;
  private started: boolean;
  private last?: { at: number; report: Promise<ReadinessReport> };

  /**
   * `starting: true`: not ready (503 `starting`) until `started()`, so that a process whose parts
   * come up one after another is not sent requests before the last one serves.
   */
  constructor(private readonly options: { checkTimeoutMs?: number; cacheMs?: number; starting?: boolean } = {}) {
    this.started = !options.starting;
  }

  /** Every part of the process is up: from now on the dependencies' checks decide. */
  markStarted(): void {
    this.started = true;
    this.last = undefined;
  }

  /** Registers a dependency; `/ready` is 503 while its check fails. */
  add(name: string, check: ReadinessCheck): this {
    this.checks.set(name, check);
    this.last = undefined;
    return this;
  }

  /** Shutdown has begun: not ready from now on, whatever the dependencies say. */
  drain(): void {
    this.draining = true;
  }

  get isDraining(): boolean {
    return this.draining;
  }

  report(): Promise<ReadinessReport> {
    const now = Date.now();
    if (this.last && now - this.last.at < (this.options.cacheMs ?? 1_000)) return this.last.report;
    const report = this.evaluate();
    this.last = { at: now, report };
    return report;
  }

  private async evaluate(): Promise<ReadinessReport> {
    const timeoutMs = this.options.checkTimeoutMs ?? 1_000;
    const results = await Promise.all(
      [...this.checks].map(async ([name, check]) => [name, (await withTimeout(check, timeoutMs)) ? 'up' : 'down'] as const),
    );
    const checks = Object.fromEntries(results);
    const down = results.filter(([, state]) => state === 'down').map(([name]) => name);
    if (this.draining) return { status: 'draining', checks, ...(down.length ? { down } : {}) };
    if (!this.started) return { status: 'starting', checks, ...(down.length ? { down } : {}) };
    return down.length ? { status: 'unavailable', checks, down } : { status: 'ready', checks };
  }

  /** `GET /ready`. */
  route(): RouteHandler {
    return async (_req, res) => {
      const report = await this.report();
      sendJson(res, report.status === 'ready' ? 200 : 503, report, { 'cache-control': 'no-store' });
    };
  }
}

async function withTimeout(check: ReadinessCheck, timeoutMs: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      Promise.resolve().then(check),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), timeoutMs);
      }),
    ]);
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}
