/**
 * The Kubernetes base (deploy/base), generated from the system manifest: for the gateway and
 * every subgraph a Deployment, Service, HorizontalPodAutoscaler, PodDisruptionBudget and
 * NetworkPolicy; for every subgraph an init container that applies its migrations before the
 * new version serves. The overlays (deploy/overlays/development, production) are written by hand
 * and patch replicas, images, the ingress host and the backing services.
 *
 * Why generated: a service added to the manifest gets its objects by `npm run deploy:generate`,
 * and the deploy tests fail until it has (they compare deploy/base with this output).
 */
import { gateway, runtimeOf, services, type ServiceDeclaration } from '@mercado/system';

export type K8sObject = { apiVersion: string; kind: string; metadata: { name: string; labels?: Record<string, string>; [key: string]: unknown }; [key: string]: unknown };

/** Secret names and keys the manifests reference; none is in the base or the image. */
export const secrets = {
  internalToken: { name: 'mercado-internal-token', key: 'INTERNAL_TOKEN_SECRET' },
  amqp: { name: 'mercado-amqp', key: 'AMQP_URL' },
  redis: { name: 'mercado-redis', key: 'REDIS_URL' },
  database: (service: string) => ({ name: `mercado-${service}-database`, key: 'DATABASE_URL' }),
} as const;

/** What the overlays set in the shared ConfigMap (NODE_ENV, LOG_LEVEL, prefixes). */
export const configMapName = 'mercado-config';

/** On SIGTERM a process (subgraph or gateway) stays up, not ready, this long before it stops anything (SHUTDOWN_DELAY_MS). */
export const shutdownDelayMs = 5_000;
/** The work in hand may take this long before the process exits anyway (SHUTDOWN_GRACE_MS, service-kit's default). */
export const shutdownGraceMs = 25_000;
/** Past the drain, Kubernetes sends SIGKILL: longer than delay + grace, with a margin. */
export const terminationGracePeriodSeconds = Math.ceil((shutdownDelayMs + shutdownGraceMs) / 1000) + 10;

/** Label of the pods allowed to scrape every management port (Prometheus, an OpenTelemetry collector). */
export const scraperLabel = { 'mercado.dev/metrics-scraper': 'true' };

const image = 'mercado';
const uid = 1000;

const labelsOf = (name: string, component: string) => ({
  'app.kubernetes.io/name': name,
  'app.kubernetes.io/component': component,
  'app.kubernetes.io/part-of': 'mercado',
  'app.kubernetes.io/managed-by': 'kustomize',
});
const selectorOf = (name: string) => ({ 'app.kubernetes.io/name': name, 'app.kubernetes.io/part-of': 'mercado' });

const fromSecret = (name: string, ref: { name: string; key: string }) => ({ name, valueFrom: { secretKeyRef: { name: ref.name, key: ref.key } } });
const fromConfig = (name: string, optional = false) => ({ name, valueFrom: { configMapKeyRef: { name: configMapName, key: name, ...(optional ? { optional } : {}) } } });
const value = (name: string, v: string | number) => ({ name, value: String(v) });

const containerSecurity = {
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  runAsNonRoot: true,
  capabilities: { drop: ['ALL'] },
};
const podSecurity = {
  runAsNonRoot: true,
  runAsUser: uid,
  runAsGroup: uid,
  fsGroup: uid,
  seccompProfile: { type: 'RuntimeDefault' },
};
// The root file system is read-only; node and its libraries may still want a scratch /tmp.
const tmpVolume = { name: 'tmp', emptyDir: { sizeLimit: '16Mi' } };
const tmpMount = { name: 'tmp', mountPath: '/tmp' };

function resourcesOf(name: string) {
  const r = runtimeOf(name).resources;
  return {
    requests: { cpu: `${r.cpuRequestMillis}m`, memory: `${r.memoryRequestMiB}Mi` },
    // No CPU limit: throttling a process that holds database transactions costs more than it saves.
    limits: { memory: `${r.memoryLimitMiB}Mi` },
  };
}

const usesBroker = (s: ServiceDeclaration) => s.produces.length > 0 || s.consumes.length > 0;
const usesRedis = (s: ServiceDeclaration) => s.saga !== undefined;

/** The environment of a subgraph's container: exactly what its code reads (checked by the tests). */
export function serviceEnv(s: ServiceDeclaration) {
  return [
    fromConfig('NODE_ENV'),
    fromConfig('LOG_LEVEL'),
    value('PORT', s.port),
    value('METRICS_PORT', s.metricsPort),
    fromSecret('DATABASE_URL', secrets.database(s.name)),
    fromSecret('INTERNAL_TOKEN_SECRET', secrets.internalToken),
    value('SHUTDOWN_DELAY_MS', shutdownDelayMs),
    value('SHUTDOWN_GRACE_MS', shutdownGraceMs),
    ...(usesBroker(s) ? [fromSecret('AMQP_URL', secrets.amqp), fromConfig('EVENTS_PREFIX')] : []),
    ...(usesRedis(s) ? [fromSecret('REDIS_URL', secrets.redis), fromConfig('SAGA_PREFIX')] : []),
  ];
}

export function gatewayEnv() {
  return [
    fromConfig('NODE_ENV'),
    fromConfig('LOG_LEVEL'),
    value('PORT', gateway.port),
    value('METRICS_PORT', gateway.metricsPort),
    fromSecret('INTERNAL_TOKEN_SECRET', secrets.internalToken),
    value('SHUTDOWN_DELAY_MS', shutdownDelayMs),
    value('SHUTDOWN_GRACE_MS', shutdownGraceMs),
    fromSecret('REDIS_URL', secrets.redis),
    fromConfig('SAGA_PREFIX'),
    fromConfig('RATE_LIMIT_PREFIX'),
    // The names the gateway answers to (its Host check) and the browser origins it admits; unset
    // in production, the check is off and no browser origin is admitted. The production overlay sets the first.
    fromConfig('PUBLIC_HOSTS', true),
    fromConfig('CORS_ORIGINS', true),
    value('ACCOUNTS_JWKS_URL', `http://accounts:${services.find((s) => s.name === 'accounts')!.port}/.well-known/jwks.json`),
    ...services.map((s) => value(`SUBGRAPH_${s.name.toUpperCase()}_URL`, `http://${s.name}:${s.port}/graphql`)),
  ];
}

const probe = (path: string, port: string, periodSeconds: number, failureThreshold: number) => ({
  httpGet: { path, port },
  periodSeconds,
  timeoutSeconds: 2,
  failureThreshold,
});

function deployment(name: string, component: string, spec: { ports: Array<{ name: string; containerPort: number }>; env: unknown[]; probePort: string; initContainers?: unknown[] }): K8sObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, labels: labelsOf(name, component) },
    spec: {
      // No replicas: the HorizontalPodAutoscaler owns the count (a `kubectl apply` that set it
      // would scale every Deployment back down to it, mid-rollout included).
      revisionHistoryLimit: 5,
      selector: { matchLabels: selectorOf(name) },
      // A new pod is ready before an old one goes: never fewer than the replicas asked for.
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
      template: {
        metadata: { labels: labelsOf(name, component) },
        spec: {
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          securityContext: podSecurity,
          terminationGracePeriodSeconds,
          // Replicas on different nodes, and zones where there are several.
          topologySpreadConstraints: ['kubernetes.io/hostname', 'topology.kubernetes.io/zone'].map((topologyKey) => ({
            maxSkew: 1,
            topologyKey,
            whenUnsatisfiable: 'ScheduleAnyway',
            labelSelector: { matchLabels: selectorOf(name) },
          })),
          ...(spec.initContainers ? { initContainers: spec.initContainers } : {}),
          containers: [
            {
              name,
              image,
              imagePullPolicy: 'IfNotPresent',
              args: [name],
              ports: spec.ports.map((p) => ({ ...p, protocol: 'TCP' })),
              env: spec.env,
              resources: resourcesOf(name),
              securityContext: containerSecurity,
              // Up to a minute to start (first connection to the database, the broker).
              startupProbe: probe('/health', spec.probePort, 2, 30),
              // Restarted only when it stops answering at all; a dependency down is readiness' business.
              livenessProbe: probe('/health', spec.probePort, 10, 3),
              // Out of the Service's endpoints while a dependency it needs is down, and while draining.
              readinessProbe: probe('/ready', spec.probePort, 5, 2),
              volumeMounts: [tmpMount],
            },
          ],
          volumes: [tmpVolume],
        },
      },
    },
  };
}

function service(name: string, component: string, ports: Array<{ name: string; port: number }>): K8sObject {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, labels: labelsOf(name, component) },
    spec: { type: 'ClusterIP', selector: selectorOf(name), ports: ports.map((p) => ({ name: p.name, port: p.port, targetPort: p.name, protocol: 'TCP' })) },
  };
}

function autoscaler(name: string, component: string): K8sObject {
  return {
    apiVersion: 'autoscaling/v2',
    kind: 'HorizontalPodAutoscaler',
    metadata: { name, labels: labelsOf(name, component) },
    spec: {
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name },
      minReplicas: 1,
      maxReplicas: 4,
      metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } } }],
      // Scale down slowly: a replica's drain takes up to half a minute and its consumers rebalance.
      behavior: { scaleDown: { stabilizationWindowSeconds: 300, policies: [{ type: 'Pods', value: 1, periodSeconds: 60 }] } },
    },
  };
}

function disruptionBudget(name: string, component: string): K8sObject {
  return {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: { name, labels: labelsOf(name, component) },
    spec: { maxUnavailable: 1, selector: { matchLabels: selectorOf(name) } },
  };
}

const dnsEgress = {
  to: [{ namespaceSelector: {}, podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } } }],
  ports: [
    { protocol: 'UDP', port: 53 },
    { protocol: 'TCP', port: 53 },
  ],
};
/** Backing services may live anywhere (another namespace, a managed service): egress is limited by port. */
const portEgress = (...ports: number[]) => ({ ports: ports.map((port) => ({ protocol: 'TCP', port })) });
/** OTLP over HTTP, for traces when OTEL_EXPORTER_OTLP_ENDPOINT is set. */
const otlpPort = 4318;
const scraperIngress = (metricsPort: number) => ({
  from: [{ namespaceSelector: {}, podSelector: { matchLabels: scraperLabel } }],
  ports: [{ protocol: 'TCP', port: metricsPort }],
});

function serviceNetworkPolicy(s: ServiceDeclaration): K8sObject {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: s.name, labels: labelsOf(s.name, 'subgraph') },
    spec: {
      podSelector: { matchLabels: selectorOf(s.name) },
      policyTypes: ['Ingress', 'Egress'],
      ingress: [
        // GraphQL (and, for accounts, the JWKS) from the gateway only.
        { from: [{ podSelector: { matchLabels: selectorOf(gateway.name) } }], ports: [{ protocol: 'TCP', port: s.port }] },
        scraperIngress(s.metricsPort),
      ],
      egress: [dnsEgress, portEgress(5432, ...(usesBroker(s) ? [5672, 5671] : []), ...(usesRedis(s) ? [6379] : []), otlpPort)],
    },
  };
}

function gatewayNetworkPolicy(): K8sObject {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: gateway.name, labels: labelsOf(gateway.name, 'gateway') },
    spec: {
      podSelector: { matchLabels: selectorOf(gateway.name) },
      policyTypes: ['Ingress', 'Egress'],
      ingress: [
        // The only door: clients reach it through the Ingress controller, wherever that runs.
        { ports: [{ protocol: 'TCP', port: gateway.port }] },
        scraperIngress(gateway.metricsPort),
      ],
      egress: [
        dnsEgress,
        ...services.map((s) => ({ to: [{ podSelector: { matchLabels: selectorOf(s.name) } }], ports: [{ protocol: 'TCP', port: s.port }] })),
        portEgress(6379, otlpPort),
      ],
    },
  };
}

function ingress(): K8sObject {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: { name: gateway.name, labels: labelsOf(gateway.name, 'gateway') },
    spec: {
      // The overlays set the class and host.
      rules: [
        {
          host: 'mercado.example.com',
          http: { paths: [{ path: '/graphql', pathType: 'Prefix', backend: { service: { name: gateway.name, port: { name: 'http' } } } }] },
        },
      ],
    },
  };
}

/** The shared settings; generated with a hash in its name, so that a change rolls every pod that reads it. */
const configLiterals = { NODE_ENV: 'production', LOG_LEVEL: 'info', EVENTS_PREFIX: 'mercado', SAGA_PREFIX: 'mercado', RATE_LIMIT_PREFIX: 'mercado:gateway:rate' };

/** Every object of the base, by file (relative to deploy/base). */
export function baseFiles(): Record<string, K8sObject[]> {
  const files: Record<string, K8sObject[]> = {};
  for (const s of services) {
    const ports = [
      { name: 'http', containerPort: s.port },
      { name: 'metrics', containerPort: s.metricsPort },
    ];
    files[`${s.name}.yaml`] = [
      deployment(s.name, 'subgraph', {
        ports,
        env: serviceEnv(s),
        probePort: 'metrics',
        // Its migrations, applied before this version serves; idempotent, so every new pod may run it.
        initContainers: [
          {
            name: 'migrate',
            image,
            imagePullPolicy: 'IfNotPresent',
            args: [s.name, 'migrate'],
            env: [fromConfig('LOG_LEVEL'), fromSecret('DATABASE_URL', secrets.database(s.name))],
            resources: resourcesOf(s.name),
            securityContext: containerSecurity,
            volumeMounts: [tmpMount],
          },
        ],
      }),
      service(s.name, 'subgraph', ports.map((p) => ({ name: p.name, port: p.containerPort }))),
      autoscaler(s.name, 'subgraph'),
      disruptionBudget(s.name, 'subgraph'),
      serviceNetworkPolicy(s),
    ];
  }
  files['gateway.yaml'] = [
    deployment(gateway.name, 'gateway', {
      ports: [
        { name: 'http', containerPort: gateway.port },
        { name: 'metrics', containerPort: gateway.metricsPort },
      ],
      env: gatewayEnv(),
      probePort: 'metrics',
    }),
    service(gateway.name, 'gateway', [
      { name: 'http', port: gateway.port },
      { name: 'metrics', port: gateway.metricsPort },
    ]),
    autoscaler(gateway.name, 'gateway'),
    disruptionBudget(gateway.name, 'gateway'),
    gatewayNetworkPolicy(),
    ingress(),
  ];
  return files;
}

export function baseKustomization(files: string[]) {
  return {
    apiVersion: 'kustomize.config.k8s.io/v1beta1',
    kind: 'Kustomization',
    labels: [{ pairs: { 'app.kubernetes.io/instance': 'mercado' }, includeSelectors: false, includeTemplates: true }],
    resources: files,
    configMapGenerator: [{ name: configMapName, literals: Object.entries(configLiterals).map(([k, v]) => `${k}=${v}`) }],
  };
}

/** The development overlay's values: public, and refused nowhere only because NODE_ENV is development there. */
const developmentPassword = 'development-only';

/**
 * The development overlay's Secrets and PostgreSQL's first-start script, one database per
 * service of the manifest (deploy/overlays/development/secrets.generated.yaml).
 */
export function developmentFiles(): Record<string, K8sObject[]> {
  const secret = (name: string, data: Record<string, string>): K8sObject => ({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name, labels: { 'app.kubernetes.io/part-of': 'mercado' } },
    type: 'Opaque',
    stringData: data,
  });
  return {
    'secrets.generated.yaml': [
      secret('mercado-postgres', { POSTGRES_PASSWORD: developmentPassword }),
      secret('mercado-rabbitmq', { RABBITMQ_DEFAULT_PASS: developmentPassword }),
      secret(secrets.internalToken.name, { [secrets.internalToken.key]: 'development-only-internal-token-secret-not-for-production' }),
      secret(secrets.amqp.name, { [secrets.amqp.key]: `amqp://mercado:${developmentPassword}@rabbitmq:5672` }),
      secret(secrets.redis.name, { [secrets.redis.key]: 'redis://redis:6379' }),
      ...services.map((s) => secret(secrets.database(s.name).name, { DATABASE_URL: `postgresql://postgres:${developmentPassword}@postgres:5432/mercado_${s.name}` })),
      {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'postgres-init', labels: { 'app.kubernetes.io/part-of': 'mercado' } },
        data: { 'databases.sql': services.map((s) => `CREATE DATABASE mercado_${s.name};\n`).join('') },
      },
    ],
  };
}
