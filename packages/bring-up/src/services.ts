import type { ServiceModule } from '@mercado/service-kit';
import { serviceDeclaration, services } from '@mercado/system';

/**
 * A service's module (what its package exports: database, seed, events, workers), loaded by the
 * name the system manifest gives it; packages are named `@mercado/<service>`. Loaded on demand,
 * so a tool that only needs the system's shape loads no service code.
 */
export async function loadService(name: string): Promise<ServiceModule> {
  serviceDeclaration(name); // an unknown name fails here, naming the known ones
  const exported = (await import(`@mercado/${name}`)) as Record<string, unknown>;
  const module = Object.values(exported).find(
    (value): value is ServiceModule => typeof value === 'object' && value !== null && (value as ServiceModule).name === name && typeof (value as ServiceModule).start === 'function',
  );
  if (!module) throw new Error(`@mercado/${name} exports no service module named "${name}"`);
  return module;
}

/** Every service of the manifest, in its order, by name. */
export async function loadServices(): Promise<Record<string, ServiceModule>> {
  const modules = await Promise.all(services.map((s) => loadService(s.name)));
  return Object.fromEntries(modules.map((m) => [m.name, m]));
}
