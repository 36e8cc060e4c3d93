import { gateway, portsOf, services, type Stack } from '@mercado/system';
import { gatewayProcessEnv, serviceProcessEnv, subgraphUrlsOf } from './environments.ts';
import { spawnDeployable, untilReady, type DeployableProcess } from './processes.ts';

export interface SystemOptions {
  stack: Stack;
  /** INTERNAL_TOKEN_SECRET shared by the gateway and the services. */
  secret: string;
  /** Processes of every service, and gateways (default 1). */
  replicas?: number;
  /** Each line any process prints. */
  onLine?: (label: string, line: string) => void;
  /** Added to every process's environment (LOG_LEVEL, NODE_ENV, OTEL_*...). */
  env?: Record<string, string>;
  /** The subgraph URLs gateway `replica` calls; default: the services of the same replica number. */
  subgraphUrls?: (replica: number) => Record<string, string>;
  /** How long each process may take to become ready. */
  readyTimeoutMs?: number;
  /** Node flags of a deployable's processes; default: its declared ones (packages/system/src/runtime.ts). */
  nodeArgs?: (name: string) => readonly string[];
  /** The node binary; default: the one running this. */
  nodeBinary?: string;
}

export interface RunningSystem {
  /** Every service process, by replica then manifest order. */
  services: DeployableProcess[];
  gateways: DeployableProcess[];
  /** Starts one more process of a service (or the gateway), as replica `replica`, and waits until it is ready. */
  start(name: string, replica: number): Promise<DeployableProcess>;
  /** SIGTERM to every process still running (gateways first), waiting for each to exit. */
  stop(): Promise<void>;
}

/**
 * Starts every service (each in its own process, `replicas` of each) and waits until all are
 * ready, then the gateway(s) and waits again. Gateway n calls the services of replica n unless
 * `subgraphUrls` says otherwise. On a failure to start, whatever started is stopped.
 */
export async function startSystem(opts: SystemOptions): Promise<RunningSystem> {
  const replicas = opts.replicas ?? 1;
  const all: DeployableProcess[] = [];
  const spawnOne = (name: string, replica: number) => {
    const env =
      name === gateway.name
        ? gatewayProcessEnv(opts.stack, opts.secret, replica, opts.subgraphUrls?.(replica) ?? subgraphUrlsOf(opts.stack, replica))
        : serviceProcessEnv(opts.stack, name, opts.secret, replica);
    const proc = spawnDeployable({
      name,
      replica,
      ports: portsOf(opts.stack, name, replica),
      host: opts.stack.host,
      env: { ...opts.env, ...env },
      ...(opts.onLine ? { onLine: opts.onLine } : {}),
      ...(opts.nodeArgs ? { nodeArgs: opts.nodeArgs(name) } : {}),
      ...(opts.nodeBinary ? { nodeBinary: opts.nodeBinary } : {}),
    });
    all.push(proc);
    return proc;
  };
  const startReady = async (name: string, replica: number) => {
    const proc = spawnOne(name, replica);
    await untilReady(proc, opts.readyTimeoutMs);
    return proc;
  };
  const stop = async () => {
    const gateways = all.filter((p) => p.name === gateway.name);
    await Promise.all(gateways.map((p) => p.stop()));
    await Promise.all(all.filter((p) => p.name !== gateway.name).map((p) => p.stop()));
  };
  try {
    const replicaNumbers = Array.from({ length: replicas }, (_, r) => r);
    const serviceProcesses = await Promise.all(replicaNumbers.flatMap((r) => services.map((s) => startReady(s.name, r))));
    const gateways = await Promise.all(replicaNumbers.map((r) => startReady(gateway.name, r)));
    return { services: serviceProcesses, gateways, start: startReady, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
