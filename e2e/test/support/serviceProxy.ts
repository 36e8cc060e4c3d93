import { Agent, createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * What a Kubernetes Service gives the replica test: one stable address in front of a
 * deployable's replicas, each request sent to the next ready one (round robin). Endpoints are
 * added once a replica is ready and removed when it is going away, as the endpoints controller
 * does when a pod is deleted (before the kubelet's SIGTERM reaches it), so a replica that drains
 * gets no new requests. Like kube-proxy it never retries: a request sent to a replica that dies
 * fails, and its client sees that.
 */
export class ServiceProxy {
  private readonly endpoints: string[] = [];
  private next = 0;
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 64 });
  private server?: Server;
  url = '';

  constructor(readonly name: string) {}

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      const endpoint = this.endpoints.length ? this.endpoints[this.next++ % this.endpoints.length]! : undefined;
      if (!endpoint) {
        res.writeHead(503, { 'content-type': 'application/json' }).end(JSON.stringify({ errors: [{ message: `no ready endpoint for ${this.name}` }] }));
        return;
      }
      const target = new URL(req.url ?? '/', endpoint);
      const upstream = request(target, { method: req.method, headers: { ...req.headers, host: target.host }, agent: this.agent }, (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      });
      upstream.on('error', () => (res.headersSent ? res.destroy() : res.writeHead(502).end()));
      req.pipe(upstream);
    });
    this.server.keepAliveTimeout = 65_000;
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  /** A replica that became ready. */
  add(baseUrl: string): void {
    if (!this.endpoints.includes(baseUrl)) this.endpoints.push(baseUrl);
  }

  /** A replica that is going away, or has gone. */
  remove(baseUrl: string): void {
    const i = this.endpoints.indexOf(baseUrl);
    if (i >= 0) this.endpoints.splice(i, 1);
  }

  get size(): number {
    return this.endpoints.length;
  }

  async close(): Promise<void> {
    this.agent.destroy();
    await new Promise<void>((resolve) => {
      this.server?.close(() => resolve());
      this.server?.closeAllConnections();
    });
  }
}
