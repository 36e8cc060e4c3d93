import { newestPerAggregate, type BatchEventHandler } from './consumer.ts';
import type { ReadModel } from './serviceEvents.ts';
import { replicaKey } from './serviceEvents.ts';

/** The transaction a raw statement with a table name of our own runs in (Prisma's has it). */
interface RawTransaction {
  $executeRawUnsafe(query: string, ...values: unknown[]): PromiseLike<number>;
}

/** The Prisma model delegate of the replica table. */
interface ReplicaDelegate {
  deleteMany(): PromiseLike<unknown>;
  count(): PromiseLike<number>;
  findMany(): PromiseLike<Array<{ id: string; version: number }>>;
}

/**
 * A replica that keeps only which aggregates of a source exist, and at which version: a table
 * `("id" uuid primary key, "version" int, "updatedAt" timestamptz)`. Enough for a service to
 * refuse a reference to something its source never announced, without calling the source. Any
 * event of the aggregate proves it exists; the newest version wins. Returns the batch handler
 * to bind to the source's events and the read model (for rebuild and verify).
 */
export function existenceReplica<TDb, Tx extends RawTransaction>(opts: {
  /** The service the aggregates come from, e.g. catalog. */
  source: string;
  table: string;
  delegate: (db: TDb) => ReplicaDelegate;
}): { handler: BatchEventHandler<Tx>; readModel: ReadModel<TDb> } {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(opts.table)) throw new Error(`not a table name: ${opts.table}`);
  const upsert = `
    INSERT INTO "${opts.table}" ("id", "version", "updatedAt")
    SELECT r.*, now() FROM unnest($1::uuid[], $2::int[]) AS r
    ON CONFLICT ("id") DO UPDATE SET "version" = EXCLUDED."version", "updatedAt" = now()
    WHERE "${opts.table}"."version" < EXCLUDED."version"`;
  return {
    handler: {
      async batch(events, tx) {
        const newest = newestPerAggregate(events);
        await tx.$executeRawUnsafe(upsert, newest.map((e) => e.aggregateId), newest.map((e) => e.version));
      },
    },
    readModel: {
      sources: [opts.source],
      clear: async (db) => void (await opts.delegate(db).deleteMany()),
      count: async (db) => opts.delegate(db).count(),
      async rows(db) {
        return (await opts.delegate(db).findMany()).map((row) => ({ key: `${opts.source}:${row.id}`, version: row.version, fields: {} }));
      },
      // Nothing of the payload is kept: the event itself says the aggregate exists.
      expect: (event) => ({ key: replicaKey(event), version: event.version, fields: {} }),
    },
  };
}
