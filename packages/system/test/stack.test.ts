import { describe, expect, it } from 'vitest';
import { allPorts, consumers, portsOf, REPLICA_PORT_STRIDE, services, sourcesOf, stackFromEnvironment } from '../src/index.ts';

describe('a copy of the system', () => {
  it('gives every process of two copies of two replicas ports of its own', () => {
    const first = allPorts({ portOffset: 0 }, 2);
    const second = allPorts({ portOffset: 100 }, 2);
    expect(first).toHaveLength((services.length + 1) * 2 * 2);
    expect(new Set([...first, ...second]).size).toBe(first.length + second.length);
    expect(portsOf({ portOffset: 100 }, 'orders', 1)).toEqual({ port: 4004 + 100 + REPLICA_PORT_STRIDE, metricsPort: 9404 + 100 + REPLICA_PORT_STRIDE });
    expect(portsOf({ portOffset: 0 }, 'gateway')).toEqual({ port: 4000, metricsPort: 9400 });
  });

  it('is named by STACK_NAME, placed by PORT_OFFSET, and refuses a name a database or queue cannot carry', () => {
    expect(stackFromEnvironment({})).toMatchObject({ name: 'mercado', portOffset: 0, host: '127.0.0.1' });
    expect(stackFromEnvironment({ STACK_NAME: 'mercado2', PORT_OFFSET: '100' })).toMatchObject({ name: 'mercado2', portOffset: 100 });
    expect(() => stackFromEnvironment({ STACK_NAME: 'Mercado-2' })).toThrow(/STACK_NAME/);
    expect(() => stackFromEnvironment({ PORT_OFFSET: 'ten' })).toThrow(/PORT_OFFSET/);
  });

  it('knows which services a consumer reads from', () => {
    expect(sourcesOf(consumers.find((c) => c.name === 'orders')!).sort()).toEqual(['accounts', 'catalog']);
  });

  it('refuses a name that is not a service', () => {
    expect(() => portsOf({ portOffset: 0 }, 'billing')).toThrow(/no service named "billing".*accounts/);
  });
});
