/**
 * The system manifest is the one declaration of the system: these checks fail, naming the
 * difference, when a service's code, docker-compose.yml or the committed supergraph describes
 * another system than the manifest does.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { gateway, services } from '@mercado/system';
import { loadServices, repositoryRoot } from '../src/index.ts';

const modules = await loadServices();

describe('the system manifest', () => {
  it('lists every subgraph folder, and only those', () => {
    const folders = readdirSync(join(repositoryRoot, 'subgraphs')).sort();
    expect(services.map((s) => s.name).sort()).toEqual(folders);
  });

  it.each(services.map((s) => [s.name, s] as const))("names what %s's code consumes, produces and runs", (name, declared) => {
    const module = modules[name]!;
    expect(Object.keys(module.events?.handlers ?? {}).sort(), `${name}: routing keys its consumer handles`).toEqual([...declared.consumes].sort());
    expect(Boolean(module.events?.produces), `${name}: runs an outbox relay`).toBe(declared.produces.length > 0);
    expect(Boolean(module.workers), `${name}: has saga workers`).toBe('saga' in declared);
    // The event types its code creates: every `newEvent('<name>', '<Type>', ...)` under src/events.
    const eventsDir = join(repositoryRoot, 'subgraphs', name, 'src/events');
    const created = new Set<string>();
    for (const file of existsSync(eventsDir) ? readdirSync(eventsDir) : []) {
      const source = readFileSync(join(eventsDir, file), 'utf8');
      for (const [, source_, type] of source.matchAll(/newEvent\(\s*'([a-z]+)',\s*'([A-Za-z]+)'/g)) {
        expect(source_, `${file} publishes as its own service`).toBe(name);
        created.add(type!);
      }
    }
    expect([...created].sort(), `${name}: event types it publishes`).toEqual([...declared.produces].sort());
  });

  it('has every consumed event produced by the service it names', () => {
    for (const service of services) {
      for (const key of service.consumes) {
        const [source, type] = key.split('.');
        expect(services.find((s) => s.name === source)?.produces, `${service.name} consumes ${key}`).toContain(type);
      }
    }
  });

  it('is what the committed supergraph composes', () => {
    const supergraph = readFileSync(join(repositoryRoot, 'gateway/supergraph.graphql'), 'utf8');
    const graphs = [...supergraph.matchAll(/@join__graph\(name: "([a-z]+)", url: "([^"]+)"\)/g)].map(([, name, url]) => ({ name, url }));
    expect(graphs.sort((a, b) => a.name!.localeCompare(b.name!))).toEqual(
      services.map((s) => ({ name: s.name, url: `http://127.0.0.1:${s.port}/graphql` })).sort((a, b) => a.name.localeCompare(b.name)),
    );
  });
});

describe('docker-compose.yml', () => {
  const compose = parse(readFileSync(join(repositoryRoot, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
    services: Record<string, { command: string[]; environment: Record<string, string>; healthcheck: { test: string[] }; depends_on?: Record<string, unknown>; env_file?: string[] }>;
  };
  const backing = ['postgres', 'redis', 'rabbitmq', 'setup', 'jaeger', 'prometheus', 'grafana'];

  it('runs every service of the manifest and the gateway, and nothing else', () => {
    expect(Object.keys(compose.services).filter((name) => !backing.includes(name)).sort()).toEqual([...services.map((s) => s.name), 'gateway'].sort());
  });

  it.each(services.map((s) => [s.name, s] as const))('runs %s compiled, on its ports and database, ready when /ready says so', (name, declared) => {
    const service = compose.services[name]!;
    // The image's entry point (deploy/image/mercado) starts a deployable by name.
    expect(service.command).toEqual([name]);
    expect(service.environment).toMatchObject({ PORT: String(declared.port), METRICS_PORT: String(declared.metricsPort) });
    expect(service.environment.DATABASE_URL).toMatch(new RegExp(`/mercado_${name}$`));
    expect(service.healthcheck.test.join(' ')).toContain(`http://127.0.0.1:${declared.metricsPort}/ready`);
    expect(service.env_file).toEqual(['.mercado/secrets.env']);
  });

  it('routes the gateway to every service by its compose name and port, once all are ready', () => {
    const gw = compose.services.gateway!;
    expect(gw.environment).toMatchObject({ PORT: String(gateway.port), METRICS_PORT: String(gateway.metricsPort) });
    for (const s of services) {
      expect(gw.environment[`SUBGRAPH_${s.name.toUpperCase()}_URL`]).toBe(`http://${s.name}:${s.port}/graphql`);
      expect(gw.depends_on?.[s.name]).toEqual({ condition: 'service_healthy' });
    }
    expect(gw.healthcheck.test.join(' ')).toContain(`http://127.0.0.1:${gateway.port}/ready`);
  });
});

describe('the observability profile', () => {
  it("has Prometheus scrape every deployable's management port", () => {
    const config = parse(readFileSync(join(repositoryRoot, 'observability/prometheus.yml'), 'utf8')) as {
      scrape_configs: Array<{ static_configs: Array<{ targets: string[]; labels: { deployable: string } }> }>;
    };
    const targets = config.scrape_configs.flatMap((c) => c.static_configs).map((c) => ({ deployable: c.labels.deployable, targets: c.targets }));
    expect(targets.sort((a, b) => a.deployable.localeCompare(b.deployable))).toEqual(
      [...services, gateway].map((d) => ({ deployable: d.name, targets: [`${d.name}:${d.metricsPort}`] })).sort((a, b) => a.deployable.localeCompare(b.deployable)),
    );
  });

  it('provisions a dashboard whose every panel queries Prometheus', () => {
    const dashboard = JSON.parse(readFileSync(join(repositoryRoot, 'observability/grafana/dashboards/mercado.json'), 'utf8')) as {
      panels: Array<{ type: string; title: string; targets?: Array<{ expr: string }> }>;
    };
    const graphs = dashboard.panels.filter((p) => p.type !== 'row');
    expect(graphs.length).toBeGreaterThan(10);
    for (const panel of graphs) expect(panel.targets?.every((t) => /mercado_|process_/.test(t.expr)), panel.title).toBe(true);
  });
});
