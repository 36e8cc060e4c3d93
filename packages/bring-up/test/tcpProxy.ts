import { createServer, connect, type Socket } from 'node:net';

/**
 * A TCP relay in front of one real server (PostgreSQL, RabbitMQ, Redis) that a test can cut and
 * restore, so that a process sees its dependency go away and come back while the shared server
 * itself keeps serving everyone else on the machine.
 */
export interface CuttableLink {
  /** The same URL, through the relay. */
  url: string;
  /** Drops every open connection; new ones are dropped at once until `restore()`. */
  cut(): void;
  restore(): void;
  close(): Promise<void>;
}

export async function cuttableLink(url: string, defaultPort: number): Promise<CuttableLink> {
  const target = new URL(url);
  const sockets = new Set<Socket>();
  let cut = false;
  const server = createServer((client) => {
    if (cut) return void client.destroy();
    const upstream = connect({ host: target.hostname, port: Number(target.port) || defaultPort });
    sockets.add(client).add(upstream);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const relayed = new URL(url);
  relayed.hostname = '127.0.0.1';
  relayed.port = String((server.address() as { port: number }).port);
  return {
    url: relayed.toString(),
    cut() {
      cut = true;
      for (const socket of sockets) socket.destroy();
      sockets.clear();
    },
    restore() {
      cut = false;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
