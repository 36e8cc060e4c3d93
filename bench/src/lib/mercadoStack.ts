/**
 * Mercado's own subgraphs for a bench run, kept apart from the development environment: a stack
 * of its own (`mercadobench`: databases `mercadobench_<service>`, created, migrated and seeded
 * with the development data the way `npm start` prepares its own, broker and Redis prefixes of its
 * own, ports shifted by 300), started through the same bring-up as `npm start`, each service as
 * its own compiled process, and dropped afterwards.
 */
import { join } from 'node:path';
import { buildDeployable } from '@mercado/build';
import {
  declareBroker,
  dropStack,
  prepareDatabases,
  repositoryRoot,
  serviceProcessEnv,
  spawnDeployable,
  subgraphUrlsOf,
  untilReady,
  type DeployableProcess,
} from '@mercado/bring-up';
import { portsOf, serviceNames, stackFromEnvironment, type Stack } from '@mercado/system';

/** The bench's copy of the system (a run interrupted before its cleanup is dropped by the next). */
export const benchStack: Stack = { ...stackFromEnvironment({ ...process.env, STACK_NAME: 'mercadobench', PORT_OFFSET: '300' }) };

export const mercadoServiceNames = () => [...serviceNames];

/** Builds and starts every service of the bench stack from scratch; resolves once all are ready. */
export async function startBenchServices(secret: string, log: (line: string) => void, env: Record<string, string> = {}): Promise<{ urls: Record<string, string>; processes: DeployableProcess[] }> {
  await dropStack(benchStack);
  log('  preparing databases mercadobench_<service> (migrate + seed)');
  await prepareDatabases(benchStack, { log });
  await declareBroker(benchStack);
  for (const name of serviceNames) await buildDeployable(join(repositoryRoot, 'subgraphs', name));
  log(`  starting subgraphs ${serviceNames.join(', ')} (ports ${serviceNames.map((n) => portsOf(benchStack, n).port).join(', ')}), compiled`);
  const processes = serviceNames.map((name) =>
    spawnDeployable({ name, ports: portsOf(benchStack, name), host: benchStack.host, env: { ...serviceProcessEnv(benchStack, name, secret), LOG_LEVEL: 'warn', ...env } }),
  );
  try {
    await Promise.all(processes.map((p) => untilReady(p)));
  } catch (error) {
    await Promise.all(processes.map((p) => p.stop()));
    await dropStack(benchStack);
    throw error;
  }
  return { urls: subgraphUrlsOf(benchStack), processes };
}

/** Drops the databases, broker topology and Redis keys; safe to call when they were never created. */
export async function cleanUpMercadoStack(): Promise<void> {
  await dropStack(benchStack);
}
