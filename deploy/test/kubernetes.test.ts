/**
 * The Kubernetes manifests, validated offline: each overlay rendered by `kubectl kustomize`
 * (kustomize v5 built into kubectl), every object validated against Kubernetes' OpenAPI schemas
 * (kubernetes-models 4.5.1), and the gateway and every service of the system manifest checked
 * for their objects, probes, migrations, variables and Secrets (src/check.ts). A service added
 * to the manifest fails here until `npm run deploy:generate` has written its manifests.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { commonEnvironment, serviceEnvironment, serviceProcessEnvironment } from '@mercado/service-kit';
import { loadServices } from '@mercado/bring-up';
import { gatewayEnvironment } from '../../gateway/src/environment.ts';
import { gateway, runtimeOf, services } from '@mercado/system';
import { problems, render, schemaProblems, type Expectations, type Obj } from '../src/check.ts';
import { deployDir, staleFiles } from '../src/generate.ts';
import { secrets } from '../src/kubernetes.ts';

const modules = await loadServices();
const serve: Expectations['serve'] = {
  [gateway.name]: gatewayEnvironment as never,
  ...Object.fromEntries(services.map((s) => [s.name, serviceProcessEnvironment(modules[s.name]!)])),
};
const migrate = { LOG_LEVEL: commonEnvironment.LOG_LEVEL, DATABASE_URL: serviceEnvironment(services[0].name).DATABASE_URL } as never;
const guide = readFileSync(join(deployDir, '../docs/deployment.md'), 'utf8');
const productionSecrets = [secrets.internalToken.name, secrets.amqp.name, secrets.redis.name, ...services.map((s) => secrets.database(s.name).name)];

const overlays: Record<string, Expectations> = {
  development: { serve, migrate, secretsRendered: true, minReplicas: 1 },
  production: { serve, migrate, secretsRendered: false, documentedSecrets: productionSecrets.filter((name) => guide.includes(name)), minReplicas: 2 },
};

it('deploy/ is what the system manifest generates', () => {
  expect(staleFiles(), 'run `npm run deploy:generate`').toEqual([]);
});

describe.each(Object.keys(overlays))('the %s overlay', (overlay) => {
  let objects: Obj[];
  beforeAll(() => {
    objects = render(overlay);
  });

  it('renders, and every object is valid against the Kubernetes schemas', () => {
    expect(objects.length).toBeGreaterThan(30);
    expect(objects.flatMap(schemaProblems)).toEqual([]);
  });

  it('runs the gateway and every service with its objects, probes, migrations, variables and secrets', () => {
    expect(problems(objects, overlays[overlay]!)).toEqual([]);
  });

  it('gives each deployable the resources its runtime declares', () => {
    for (const name of [gateway.name, ...services.map((s) => s.name)]) {
      const deployment = objects.find((o) => o.kind === 'Deployment' && o.metadata.name === name)!;
      const r = runtimeOf(name).resources;
      expect(deployment.spec.template.spec.containers[0].resources, name).toEqual({
        requests: { cpu: `${r.cpuRequestMillis}m`, memory: `${r.memoryRequestMiB}Mi` },
        limits: { memory: `${r.memoryLimitMiB}Mi` },
      });
    }
  });
});

describe('the production overlay', () => {
  it('tells operators to create every Secret it references', () => {
    for (const name of productionSecrets) expect(guide, `docs/deployment.md names ${name}`).toContain(name);
  });
});

describe('a broken manifest fails with a message naming what is wrong', () => {
  const broken = (change: (objects: Obj[]) => void, overlay = 'development') => {
    const objects = structuredClone(render(overlay));
    change(objects);
    return problems(objects, overlays[overlay]!);
  };
  const orders = (objects: Obj[]) => objects.find((o) => o.kind === 'Deployment' && o.metadata.name === 'orders')!.spec.template.spec;

  it('an unknown variable', () => {
    expect(broken((o) => orders(o).containers[0].env.push({ name: 'ORDERS_TURBO', value: '1' }))).toContain('Deployment/orders container orders: sets ORDERS_TURBO, which the code does not read');
  });

  it('a required variable left out', () => {
    expect(broken((o) => (orders(o).containers[0].env = orders(o).containers[0].env.filter((e: any) => e.name !== 'REDIS_URL')))).toContain(
      'Deployment/orders container orders: does not set REDIS_URL, which the code requires',
    );
  });

  it('a value the code refuses', () => {
    expect(broken((o) => orders(o).containers[0].env.push({ name: 'SAGA_STEP_TIMEOUT_MS', value: 'soon' })).join('\n')).toContain('SAGA_STEP_TIMEOUT_MS=soon is refused by the code');
  });

  it('a secret key that does not exist', () => {
    expect(broken((o) => (orders(o).containers[0].env.find((e: any) => e.name === 'DATABASE_URL').valueFrom.secretKeyRef.key = 'URL'))).toContain(
      'Deployment/orders container orders: DATABASE_URL names key URL of Secret mercado-orders-database, which has no such key',
    );
  });

  it('a secret that does not exist', () => {
    expect(broken((o) => (orders(o).containers[0].env.find((e: any) => e.name === 'AMQP_URL').valueFrom.secretKeyRef.name = 'mercado-broker'))).toContain(
      'Deployment/orders container orders: AMQP_URL names Secret mercado-broker, which the overlay does not have',
    );
  });

  it('a probe on the wrong port', () => {
    expect(broken((o) => (orders(o).containers[0].readinessProbe.httpGet.port = 'http'))).toContain(
      'Deployment/orders: readinessProbe asks /ready on port http (4004); expected /ready on 9404',
    );
  });

  it('a service of the manifest without its objects', () => {
    const found = broken((o) => o.splice(0, o.length, ...o.filter((x) => x.metadata.name !== 'payments')));
    expect(found).toContain('payments: no Deployment');
  });

  it('a subgraph open to every pod', () => {
    expect(
      broken((o) => o.find((x) => x.kind === 'NetworkPolicy' && x.metadata.name === 'orders')!.spec.ingress.push({ ports: [{ protocol: 'TCP', port: 4004 }] })).join('\n'),
    ).toContain('NetworkPolicy/orders: an ingress rule admits more than the gateway');
  });

  it('an object Kubernetes would refuse', () => {
    expect(broken((o) => (orders(o).containers[0].ports[0].containerPort = '4004')).join('\n')).toContain('Deployment/orders: data/spec/template/spec/containers/0/ports/0/containerPort must be integer');
  });

  it('a Secret in the production overlay', () => {
    expect(broken((o) => o.push({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'mercado-internal-token' }, stringData: { INTERNAL_TOKEN_SECRET: 'x' } }), 'production')).toContain(
      'Secret/mercado-internal-token: a secret in the rendered overlay (production Secrets are created out of band)',
    );
  });
});
