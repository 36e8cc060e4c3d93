import { connect } from 'node:net';
import pg from 'pg';

export interface Backing {
  name: string;
  url: string;
  check: () => Promise<void>;
}

/** Opens a TCP connection, writes `hello`, and resolves when the reply starts with `expect`. */
function probe(url: string, defaultPort: number, hello: Buffer | string, expect: (reply: Buffer) => boolean): Promise<void> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: hostname.replace(/^\[|\]$/g, ''), port: Number(port) || defaultPort });
    const fail = (error: Error) => {
      socket.destroy();
      reject(error);
    };
    socket.setTimeout(3000, () => fail(new Error('no answer within 3 s')));
    socket.once('error', fail);
    socket.once('connect', () => socket.write(hello));
    socket.once('data', (reply) => {
      socket.destroy();
      expect(reply) ? resolve() : reject(new Error(`unexpected reply ${JSON.stringify(reply.subarray(0, 16).toString())}`));
    });
  });
}

export function backingServices(env: { POSTGRES_URL: string; REDIS_URL: string; AMQP_URL: string }): Backing[] {
  return [
    {
      name: 'PostgreSQL',
      url: env.POSTGRES_URL,
      check: async () => {
        const client = new pg.Client({ connectionString: env.POSTGRES_URL, connectionTimeoutMillis: 3000 });
        await client.connect();
        await client.end();
      },
    },
    {
      name: 'Redis',
      url: env.REDIS_URL,
      check: () => probe(env.REDIS_URL, 6379, 'PING\r\n', (r) => r.toString().startsWith('+PONG') || r.toString().startsWith('-NOAUTH')),
    },
    {
      name: 'RabbitMQ',
      url: env.AMQP_URL,
      // The AMQP 0-9-1 protocol header; a broker answers with a connection.start method frame (type 1).
      check: () => probe(env.AMQP_URL, 5672, Buffer.from('AMQP\x00\x00\x09\x01', 'latin1'), (r) => r[0] === 1),
    },
  ];
}

/** Checks every backing service; returns the ones that do not answer, with why. */
export async function missingBackingServices(list: Backing[]): Promise<Array<Backing & { reason: string }>> {
  const results = await Promise.all(
    list.map(async (b) => {
      try {
        await b.check();
        return undefined;
      } catch (error) {
        return { ...b, reason: (error as Error).message || String(error) };
      }
    }),
  );
  return results.filter((r) => r !== undefined);
}
