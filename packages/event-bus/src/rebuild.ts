import type { EventfulService } from './readModelCheck.ts';
import { republish } from './serviceEvents.ts';

export interface RebuildOptions {
  consumer: EventfulService;
  /** Every service by name (the consumer's sources are looked up here). */
  services: Record<string, EventfulService>;
  /** An open database client per service involved. */
  dbs: Record<string, unknown>;
  onProgress?: (line: string) => void;
  timeoutMs?: number;
}

/**
 * Rebuilds one service's read model: empties it, asks each source service to publish a
 * snapshot of its current state through its own outbox, and waits until the replica has a
 * row for every snapshot event. The running relays and consumers do the copying, the same way
 * as for live events, so a rebuild needs no access from one service to another's tables.
 */
export async function rebuildReadModel(opts: RebuildOptions): Promise<{ complete: boolean; expected: number; actual: number }> {
  const readModel = opts.consumer.events?.readModel;
  if (!readModel) throw new Error(`${opts.consumer.name} keeps no read model`);
  const say = opts.onProgress ?? (() => {});
  const consumerDb = opts.dbs[opts.consumer.name];
  await readModel.clear(consumerDb);
  say(`${opts.consumer.name}: read model emptied`);
  let expected = 0;
  for (const source of readModel.sources) {
    const service = opts.services[source];
    if (!service?.events?.snapshot) throw new Error(`${source} cannot publish a snapshot of its state`);
    const db = opts.dbs[source] as Parameters<typeof republish>[0];
    const n = await republish(db, await service.events.snapshot(db));
    expected += n;
    say(`${source}: ${n} snapshot events written to its outbox`);
  }
  const deadline = Date.now() + (opts.timeoutMs ?? 120_000);
  let actual = 0;
  let lastReport = 0;
  while (Date.now() < deadline) {
    actual = await readModel.count(consumerDb);
    if (actual >= expected) break;
    if (Date.now() - lastReport > 1000) {
      say(`${opts.consumer.name}: ${actual}/${expected} replicated`);
      lastReport = Date.now();
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  say(`${opts.consumer.name}: ${actual}/${expected} replicated${actual >= expected ? ', done' : ' (timed out: are the services running?)'}`);
  return { complete: actual >= expected, expected, actual };
}
