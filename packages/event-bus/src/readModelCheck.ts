import { replicaKey, type ReplicatedState, type ServiceEvents } from './serviceEvents.ts';

/** A service as the read-model tools see it: its name and its events (snapshot, read model). */
export interface EventfulService {
  name: string;
  events?: ServiceEvents<any>;
}

export interface VerifyOptions {
  consumer: EventfulService;
  /** Every service by name (the consumer's sources are looked up here). */
  services: Record<string, EventfulService>;
  /** An open database client per service involved. */
  dbs: Record<string, unknown>;
}

/** How a read model differs from its sources, by `<source>:<aggregateId>`. */
export interface ReadModelReport {
  consumer: string;
  /** Aggregates the sources have. */
  compared: number;
  /** In a source, not in the read model. */
  missing: string[];
  /** The read model holds an older version than the source. */
  behind: string[];
  /** Same version, other field values; or a version the source never had. */
  different: string[];
  /** In the read model, no longer in any source. */
  extra: string[];
  equal: boolean;
}

/**
 * Compares a read model with the current state of its sources, aggregate by aggregate: each
 * source's snapshot (what it would republish) read the way the consumer reads it, against the
 * replica's rows. Only the services' own interfaces are used, never one reading another's tables
 * for the business: this is the operator's check (`npm run events -- verify`). While events are
 * in flight the read model may be behind; `behind` alone then means "not yet", not "lost".
 */
export async function verifyReadModel(opts: VerifyOptions): Promise<ReadModelReport> {
  const readModel = opts.consumer.events?.readModel;
  if (!readModel) throw new Error(`${opts.consumer.name} keeps no read model`);
  const expected = new Map<string, ReplicatedState>();
  const different: string[] = [];
  for (const source of readModel.sources) {
    const service = opts.services[source];
    if (!service?.events?.snapshot) throw new Error(`${source} cannot publish a snapshot of its state`);
    for (const event of await service.events.snapshot(opts.dbs[source])) {
      try {
        const state = readModel.expect(event);
        expected.set(state.key, state);
      } catch {
        different.push(replicaKey(event)); // the consumer could not read it: it cannot hold it either
      }
    }
  }
  const actual = new Map((await readModel.rows(opts.dbs[opts.consumer.name])).map((row) => [row.key, row]));
  const missing: string[] = [];
  const behind: string[] = [];
  for (const [key, want] of expected) {
    const have = actual.get(key);
    if (!have) missing.push(key);
    else if (have.version < want.version) behind.push(key);
    else if (have.version > want.version || !sameFields(have.fields, want.fields)) different.push(key);
  }
  const extra = [...actual.keys()].filter((key) => !expected.has(key));
  return {
    consumer: opts.consumer.name,
    compared: expected.size,
    missing,
    behind,
    different,
    extra,
    equal: missing.length + behind.length + different.length + extra.length === 0,
  };
}

/**
 * Verifies again until the read model equals its sources or `timeoutMs` passed (events in flight
 * leave it behind for a moment); returns the last report. `onDiffer` hears each one that differs.
 */
export async function verifyUntilEqual(
  opts: VerifyOptions & { timeoutMs: number; intervalMs: number; onDiffer?: (report: ReadModelReport) => void },
): Promise<ReadModelReport> {
  const deadline = Date.now() + opts.timeoutMs;
  for (;;) {
    const report = await verifyReadModel(opts);
    if (report.equal || Date.now() > deadline) return report;
    opts.onDiffer?.(report);
    await new Promise((resolve) => setTimeout(resolve, opts.intervalMs));
  }
}

function sameFields(a: Record<string, unknown>, b: Record<string, unknown>): boolean {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const key of keys) if (a[key] !== b[key]) return false;
  return true;
}
