import { verifyUntilEqual, type ReadModelReport } from '@mercado/event-bus';
import type { ServiceModule } from '@mercado/service-kit';
import type { Stack } from '@mercado/system';
import { databaseUrlOf } from './prepare.ts';

/** Opens a database client of each service named (on the stack's databases), runs fn, and closes them. */
export async function withServiceDbs<T>(stack: Stack, byName: Record<string, ServiceModule>, involved: string[], fn: (dbs: Record<string, unknown>) => Promise<T>): Promise<T> {
  const dbs = Object.fromEntries(involved.map((n) => [n, byName[n]!.createDb(databaseUrlOf(stack, n))]));
  try {
    return await fn(dbs);
  } finally {
    for (const db of Object.values(dbs)) await (db as { $disconnect(): Promise<void> }).$disconnect();
  }
}

/** The services a read model replicates. */
export const readModelSources = (byName: Record<string, ServiceModule>, consumer: string): string[] => byName[consumer]!.events?.readModel?.sources ?? [];

/**
 * Compares read models with their sources (`npm run events -- verify`, the saga fault run):
 * each one looked at again every `intervalMs` while it differs, for up to `timeoutMs`, since
 * events still in flight make a read model behind, not wrong. All of them unless `only` is given.
 */
export async function verifyReadModels(
  stack: Stack,
  byName: Record<string, ServiceModule>,
  opts: { only?: string[]; timeoutMs: number; intervalMs: number; onDiffer?: (report: ReadModelReport) => void },
): Promise<ReadModelReport[]> {
  const consumers = opts.only ?? Object.values(byName).filter((s) => s.events?.readModel).map((s) => s.name);
  const reports: ReadModelReport[] = [];
  for (const consumer of consumers) {
    reports.push(
      await withServiceDbs(stack, byName, [consumer, ...readModelSources(byName, consumer)], (dbs) =>
        verifyUntilEqual({ consumer: byName[consumer]!, services: byName, dbs, timeoutMs: opts.timeoutMs, intervalMs: opts.intervalMs, ...(opts.onDiffer ? { onDiffer: opts.onDiffer } : {}) }),
      ),
    );
  }
  return reports;
}
