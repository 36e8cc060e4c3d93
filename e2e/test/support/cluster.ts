import { gatewayProcessEnv, serviceProcessEnv, spawnDeployable, untilReady, type DeployableProcess, type Exit } from '@mercado/bring-up';
import { gateway, portsOf, services, type Stack } from '@mercado/system';
import { ServiceProxy } from './serviceProxy.ts';

/**
 * Replicas of every deployable as processes on this machine, behind a ServiceProxy each (the
 * Services of a cluster; the gateways' one plays the Ingress), with the moves a cluster makes:
 * start a replica and add it once ready, kill one (SIGKILL) and replace it, roll a deployable
 * (start a new replica, wait until it is ready, take the old one out, SIGTERM it, wait for it).
 */
export class Cluster {
  readonly proxies: Record<string, ServiceProxy> = {};
  private readonly live = new Map<string, DeployableProcess[]>();
  /** Every SIGTERM'd replica's exit, for the test to check they all exited 0. */
  readonly terminated: Array<{ label: string; exit: Exit; output: string }> = [];

  private constructor(
    private readonly stack: Stack,
    private readonly secret: string,
    private readonly env: Record<string, string>,
  ) {}

  static async create(stack: Stack, secret: string, env: Record<string, string> = {}): Promise<Cluster> {
    const cluster = new Cluster(stack, secret, env);
    for (const name of [...services.map((s) => s.name), gateway.name]) cluster.proxies[name] = await new ServiceProxy(name).start();
    return cluster;
  }

  /** Where clients send GraphQL: the gateways' proxy. */
  get url(): string {
    return `${this.proxies.gateway!.url}/graphql`;
  }

  instances(name: string): DeployableProcess[] {
    return this.live.get(name) ?? [];
  }

  /** Starts a replica on the lowest replica number no live process of `name` uses; adds it once ready. */
  async start(name: string): Promise<DeployableProcess> {
    const used = new Set(this.instances(name).map((p) => p.replica));
    let replica = 0;
    while (used.has(replica)) replica++;
    const subgraphUrls = Object.fromEntries(services.map((s) => [s.name, `${this.proxies[s.name]!.url}/graphql`]));
    const env = name === gateway.name ? gatewayProcessEnv(this.stack, this.secret, replica, subgraphUrls) : serviceProcessEnv(this.stack, name, this.secret, replica);
    const proc = spawnDeployable({ name, replica, ports: portsOf(this.stack, name, replica), host: this.stack.host, env: { ...this.env, ...env } });
    this.live.set(name, [...this.instances(name), proc]);
    await untilReady(proc);
    this.proxies[name]!.add(proc.baseUrl);
    return proc;
  }

  /** SIGKILL, as a crash or the OOM killer would; the dead replica is taken out and another started. */
  async kill(proc: DeployableProcess): Promise<DeployableProcess> {
    await proc.kill();
    this.forget(proc);
    return this.start(proc.name);
  }

  /** A rolling update of one deployable: each replica replaced by a new one, never fewer ready than before. */
  async roll(name: string): Promise<void> {
    for (const old of [...this.instances(name)]) {
      await this.start(name);
      this.forget(old);
      const exit = await old.stop();
      this.terminated.push({ label: old.label, exit, output: old.output() });
    }
  }

  private forget(proc: DeployableProcess): void {
    this.proxies[proc.name]!.remove(proc.baseUrl);
    this.live.set(proc.name, this.instances(proc.name).filter((p) => p !== proc));
  }

  async stop(): Promise<void> {
    await Promise.all(this.instances(gateway.name).map((p) => p.stop()));
    await Promise.all([...this.live.entries()].filter(([name]) => name !== gateway.name).flatMap(([, procs]) => procs.map((p) => p.stop())));
    for (const proxy of Object.values(this.proxies)) await proxy.close();
  }
}
