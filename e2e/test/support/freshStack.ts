import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { allPorts, stackFromEnvironment, type Stack } from '@mercado/system';

const portFree = (port: number) =>
  new Promise<boolean>((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });

/**
 * A copy of the system of a test's own: a unique STACK_NAME (its databases, queues and keys) and
 * a PORT_OFFSET where nothing listens on any port `replicas` replicas of everything would use,
 * outside the ephemeral port range.
 */
export async function freshStack(prefix: string, replicas = 1): Promise<Stack> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const stack = stackFromEnvironment({
      ...process.env,
      STACK_NAME: `${prefix}${randomBytes(4).toString('hex')}`,
      // Every port below 32768, where Linux hands out ephemeral ports for outgoing connections
      // (ip_local_port_range): a port free when checked there can be taken by any client socket
      // before the service binds it. Gateway 4000 and management 9406 + offset + replicas stay under.
      PORT_OFFSET: String(10_000 + 100 * Math.floor(Math.random() * 130)),
    });
    if ((await Promise.all(allPorts(stack, replicas).map(portFree))).every(Boolean)) return stack;
  }
  throw new Error('no free range of ports for a test stack');
}
