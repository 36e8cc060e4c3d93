/**
 * Checks a rendered overlay against Kubernetes' schemas and against the system: every object
 * valid for its kind (kubernetes-models, generated from Kubernetes' OpenAPI document), and for
 * the gateway and every service of the manifest its Deployment, Service, probes, PDB, HPA,
 * NetworkPolicy and migration step, with exactly the variables its code reads and the Secrets
 * and keys those name. Each problem is a sentence naming the object and what is wrong.
 */
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { ZodType } from 'zod';
import { gateway, services, type ServiceDeclaration } from '@mercado/system';
import { deployDir } from './generate.ts';

export type Obj = { apiVersion: string; kind: string; metadata: { name: string; labels?: Record<string, string>; namespace?: string }; [key: string]: any };

/** `kubectl kustomize deploy/overlays/<overlay>` (kustomize built into kubectl), parsed. */
export function render(overlay: string): Obj[] {
  const text = execFileSync('kubectl', ['kustomize', join(deployDir, 'overlays', overlay)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  return parseAllDocuments(text).map((d) => d.toJSON() as Obj).filter(Boolean);
}

const require = createRequire(import.meta.url);

/** Schema problems of one object, from kubernetes-models' validator for its apiVersion and kind. */
export function schemaProblems(o: Obj): string[] {
  const path = o.apiVersion.includes('/') ? `kubernetes-models/${o.apiVersion}` : `kubernetes-models/${o.apiVersion}`;
  let Model: (new (data: object) => { validate(): void }) | undefined;
  try {
    Model = (require(path) as Record<string, any>)[o.kind];
  } catch {
    Model = undefined;
  }
  if (!Model) return [`${o.kind}/${o.metadata.name}: no schema for ${o.apiVersion} ${o.kind}`];
  try {
    new Model(o).validate();
    return [];
  } catch (error) {
    return [`${o.kind}/${o.metadata.name}: ${(error as Error).message}`];
  }
}

/** What a deployable's code reads: each variable's schema (required when it accepts no undefined). */
export type EnvironmentShape = Record<string, ZodType>;

export interface Expectations {
  /** serve's variables per deployable (gateway and every service). */
  serve: Record<string, EnvironmentShape>;
  /** migrate's variables (any service). */
  migrate: EnvironmentShape;
  /** Whether Secrets must be present in the rendered overlay (development) or created out of band (production). */
  secretsRendered: boolean;
  /** The Secret names the documentation tells operators to create (production). */
  documentedSecrets?: string[];
  minReplicas: number;
}

const required = (shape: EnvironmentShape) => Object.entries(shape).filter(([, schema]) => !schema.safeParse(undefined).success).map(([name]) => name);

export function problems(objects: Obj[], expect: Expectations): string[] {
  const out: string[] = [];
  const find = (kind: string, name: string) => objects.find((o) => o.kind === kind && o.metadata.name === name);
  const ours = objects.filter((o) => o.metadata.labels?.['app.kubernetes.io/part-of'] === 'mercado');
  for (const o of objects) out.push(...schemaProblems(o));
  for (const o of ours) {
    if (o.metadata.labels?.['app.kubernetes.io/instance'] !== 'mercado' && ['Deployment', 'Service', 'HorizontalPodAutoscaler', 'PodDisruptionBudget', 'NetworkPolicy'].includes(o.kind)) {
      out.push(`${o.kind}/${o.metadata.name}: no app.kubernetes.io/instance label`);
    }
  }

  const secretsByName = new Map(objects.filter((o) => o.kind === 'Secret').map((o) => [o.metadata.name, { ...(o.data ?? {}), ...(o.stringData ?? {}) } as Record<string, string>]));
  const configMaps = new Map(objects.filter((o) => o.kind === 'ConfigMap').map((o) => [o.metadata.name, (o.data ?? {}) as Record<string, string>]));
  if (!expect.secretsRendered) for (const name of secretsByName.keys()) out.push(`Secret/${name}: a secret in the rendered overlay (production Secrets are created out of band)`);

  function checkEnv(where: string, env: Array<{ name: string; value?: string; valueFrom?: any }>, shape: EnvironmentShape) {
    const set = new Set(env.map((e) => e.name));
    for (const e of env) {
      if (!(e.name in shape)) out.push(`${where}: sets ${e.name}, which the code does not read`);
      const secretRef = e.valueFrom?.secretKeyRef;
      if (secretRef) {
        const secret = secretsByName.get(secretRef.name);
        if (expect.secretsRendered && !secret) out.push(`${where}: ${e.name} names Secret ${secretRef.name}, which the overlay does not have`);
        else if (secret && !(secretRef.key in secret)) out.push(`${where}: ${e.name} names key ${secretRef.key} of Secret ${secretRef.name}, which has no such key`);
        if (!expect.secretsRendered && expect.documentedSecrets && !expect.documentedSecrets.includes(secretRef.name)) out.push(`${where}: ${e.name} names Secret ${secretRef.name}, which docs/deployment.md does not tell operators to create`);
      }
      const configRef = e.valueFrom?.configMapKeyRef;
      if (configRef && !configRef.optional && !(configRef.key in (configMaps.get(configRef.name) ?? {}))) out.push(`${where}: ${e.name} names key ${configRef.key} of ConfigMap ${configRef.name}, which has no such key`);
      if (e.value !== undefined && shape[e.name]) {
        const parsed = shape[e.name]!.safeParse(e.value);
        if (!parsed.success) out.push(`${where}: ${e.name}=${e.value} is refused by the code (${parsed.error.issues[0]?.message})`);
      }
    }
    for (const name of required(shape)) if (!set.has(name)) out.push(`${where}: does not set ${name}, which the code requires`);
  }

  const deployables: Array<{ name: string; port: number; metricsPort: number; service?: ServiceDeclaration }> = [
    { name: gateway.name, port: gateway.port, metricsPort: gateway.metricsPort },
    ...services.map((s) => ({ name: s.name, port: s.port, metricsPort: s.metricsPort, service: s })),
  ];
  for (const d of deployables) {
    const deployment = find('Deployment', d.name);
    if (!deployment) {
      out.push(`${d.name}: no Deployment`);
      continue;
    }
    const where = `Deployment/${d.name}`;
    const podLabels: Record<string, string> = deployment.spec.template.metadata.labels ?? {};
    const selects = (selector: Record<string, string> | undefined) => !!selector && Object.entries(selector).every(([k, v]) => podLabels[k] === v);
    const pod = deployment.spec.template.spec;
    const container = pod.containers.find((c: any) => c.name === d.name) ?? pod.containers[0];
    if (JSON.stringify(container.args) !== JSON.stringify([d.name])) out.push(`${where}: runs ${JSON.stringify(container.args)}, not [${d.name}]`);
    if (deployment.spec.replicas !== undefined) out.push(`${where}: sets replicas (${deployment.spec.replicas}), which its HorizontalPodAutoscaler owns`);
    const ru = deployment.spec.strategy?.rollingUpdate;
    if (deployment.spec.strategy?.type !== 'RollingUpdate' || String(ru?.maxUnavailable) !== '0') out.push(`${where}: a rolling update may take a replica away before its successor is ready (maxUnavailable must be 0)`);

    // Ports: the container's named ports are the manifest's.
    const portByName = new Map<string, number>(container.ports.map((p: any) => [p.name, p.containerPort]));
    if (portByName.get('http') !== d.port) out.push(`${where}: port http is ${portByName.get('http')}, the manifest says ${d.port}`);
    if (portByName.get('metrics') !== d.metricsPort) out.push(`${where}: port metrics is ${portByName.get('metrics')}, the manifest says ${d.metricsPort}`);
    // Probes ask the management port, which answers before the public one and is not the clients'.
    const probePort = d.metricsPort;
    for (const [probe, path] of [['livenessProbe', '/health'], ['readinessProbe', '/ready'], ['startupProbe', '/health']] as const) {
      const get = container[probe]?.httpGet;
      const port = typeof get?.port === 'string' ? portByName.get(get.port) : get?.port;
      if (!get) out.push(`${where}: no ${probe}`);
      else if (get.path !== path || port !== probePort) out.push(`${where}: ${probe} asks ${get.path} on port ${get.port} (${port}); expected ${path} on ${probePort}`);
    }

    // Security: every container of the pod, init containers included.
    if (pod.securityContext?.runAsNonRoot !== true) out.push(`${where}: the pod may run as root (runAsNonRoot)`);
    for (const c of [...(pod.initContainers ?? []), ...pod.containers]) {
      const sc = c.securityContext ?? {};
      if (sc.readOnlyRootFilesystem !== true) out.push(`${where}: container ${c.name} has a writable root file system`);
      if (sc.allowPrivilegeEscalation !== false) out.push(`${where}: container ${c.name} allows privilege escalation`);
      if (!sc.capabilities?.drop?.includes('ALL')) out.push(`${where}: container ${c.name} keeps Linux capabilities`);
      if (!c.resources?.requests?.memory || !c.resources?.limits?.memory || !c.resources?.requests?.cpu) out.push(`${where}: container ${c.name} has no memory request and limit or CPU request`);
    }

    // Environment: what the code reads, all it requires, Secrets and keys that exist.
    checkEnv(`${where} container ${container.name}`, container.env ?? [], expect.serve[d.name]!);

    // Drain: Kubernetes' grace outlasts the process's own delay (endpoints forgetting the pod) and grace (work in hand).
    const envValue = (name: string) => Number(container.env?.find((e: any) => e.name === name)?.value ?? 0);
    const drainMs = envValue('SHUTDOWN_DELAY_MS') + (envValue('SHUTDOWN_GRACE_MS') || 25_000);
    if ((pod.terminationGracePeriodSeconds ?? 30) * 1000 <= drainMs) out.push(`${where}: terminationGracePeriodSeconds ${pod.terminationGracePeriodSeconds} does not outlast the drain (${drainMs} ms)`);
    if (!envValue('SHUTDOWN_DELAY_MS')) out.push(`${where}: no SHUTDOWN_DELAY_MS: the pod would stop serving before its endpoints forget it`);

    // Migrations: services only, before the server starts.
    if (d.service) {
      const migrate = (pod.initContainers ?? []).find((c: any) => JSON.stringify(c.args) === JSON.stringify([d.name, 'migrate']));
      if (!migrate) out.push(`${where}: no init container running \`${d.name} migrate\``);
      else checkEnv(`${where} init container ${migrate.name}`, migrate.env ?? [], expect.migrate);
    }

    // Service: both ports, to the named container ports, selecting these pods.
    const service = find('Service', d.name);
    if (!service) out.push(`${d.name}: no Service`);
    else {
      if (!selects(service.spec.selector)) out.push(`Service/${d.name}: its selector does not match the Deployment's pods`);
      for (const [name, port] of [['http', d.port], ['metrics', d.metricsPort]] as const) {
        const p = service.spec.ports.find((x: any) => x.name === name);
        if (!p || p.port !== port || !portByName.has(p.targetPort)) out.push(`Service/${d.name}: port ${name} is not ${port} to the container's ${name} port`);
      }
    }
    const pdb = find('PodDisruptionBudget', d.name);
    if (!pdb) out.push(`${d.name}: no PodDisruptionBudget`);
    else if (!selects(pdb.spec.selector?.matchLabels)) out.push(`PodDisruptionBudget/${d.name}: its selector does not match the Deployment's pods`);
    const hpa = find('HorizontalPodAutoscaler', d.name);
    if (!hpa) out.push(`${d.name}: no HorizontalPodAutoscaler`);
    else {
      if (hpa.spec.scaleTargetRef.kind !== 'Deployment' || hpa.spec.scaleTargetRef.name !== d.name) out.push(`HorizontalPodAutoscaler/${d.name}: scales ${hpa.spec.scaleTargetRef.kind}/${hpa.spec.scaleTargetRef.name}`);
      if ((hpa.spec.minReplicas ?? 1) < expect.minReplicas) out.push(`HorizontalPodAutoscaler/${d.name}: minReplicas ${hpa.spec.minReplicas}, fewer than ${expect.minReplicas}`);
    }

    // NetworkPolicy: a subgraph accepts the gateway on its public port and the scraper on its metrics port, nothing else.
    const policy = find('NetworkPolicy', d.name);
    if (!policy) out.push(`${d.name}: no NetworkPolicy`);
    else {
      if (!selects(policy.spec.podSelector?.matchLabels)) out.push(`NetworkPolicy/${d.name}: does not select the Deployment's pods`);
      if (!policy.spec.policyTypes?.includes('Ingress') || !policy.spec.policyTypes?.includes('Egress')) out.push(`NetworkPolicy/${d.name}: does not restrict both ingress and egress`);
      if (d.service) {
        for (const rule of policy.spec.ingress ?? []) {
          const ports = (rule.ports ?? []).map((p: any) => p.port);
          const fromGateway = rule.from?.length === 1 && rule.from[0].podSelector?.matchLabels?.['app.kubernetes.io/name'] === gateway.name && !rule.from[0].namespaceSelector;
          const fromScraper = rule.from?.length === 1 && rule.from[0].podSelector?.matchLabels?.['mercado.dev/metrics-scraper'] === 'true';
          if (!(fromGateway && JSON.stringify(ports) === JSON.stringify([d.port])) && !(fromScraper && JSON.stringify(ports) === JSON.stringify([d.metricsPort]))) {
            out.push(`NetworkPolicy/${d.name}: an ingress rule admits more than the gateway on ${d.port} and the metrics scraper on ${d.metricsPort}: ${JSON.stringify(rule)}`);
          }
        }
        const egressPorts = (policy.spec.egress ?? []).flatMap((r: any) => (r.ports ?? []).map((p: any) => p.port));
        for (const port of [53, 5432]) if (!egressPorts.includes(port)) out.push(`NetworkPolicy/${d.name}: no egress to port ${port}`);
      }
    }
  }

  // The gateway's Ingress reaches its Service's http port.
  const ingress = objects.find((o) => o.kind === 'Ingress');
  const backend = ingress?.spec.rules?.[0]?.http?.paths?.[0]?.backend?.service;
  if (!ingress) out.push('gateway: no Ingress');
  else if (backend?.name !== gateway.name || backend?.port?.name !== 'http') out.push(`Ingress/${ingress.metadata.name}: does not route to the gateway's http port`);
  return out;
}
