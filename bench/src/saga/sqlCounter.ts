/**
 * Counts the SQL statements each service sends, on the wire: a TCP proxy in front of PostgreSQL
 * that the services' DATABASE_URLs point at. It passes every byte through untouched and reads
 * only the frontend messages' headers: each simple Query ('Q') and each Execute ('E') of the
 * extended protocol is one statement (BEGIN and COMMIT included), attributed to the database the
 * connection's StartupMessage named. No extension or server setting is needed, so it works on a
 * PostgreSQL shared with others (pg_stat_statements needs a preload and a restart).
 */
import net from 'node:net';

const SSL_REQUEST = 80877103;
const GSSENC_REQUEST = 80877104;

export class SqlCounter {
  private readonly server: net.Server;
  private readonly counts = new Map<string, number>();
  private readonly sockets = new Set<net.Socket>();
  port = 0;

  constructor(private readonly upstream: { host: string; port: number }) {
    this.server = net.createServer((client) => this.accept(client));
  }

  async start(): Promise<number> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as net.AddressInfo).port;
    return this.port;
  }

  /** Statements per database since the last reset. */
  snapshot(): Record<string, number> {
    return Object.fromEntries(this.counts);
  }

  reset(): void {
    this.counts.clear();
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: net.Socket): void {
    const server = net.connect(this.upstream.port, this.upstream.host);
    this.sockets.add(client).add(server);
    client.setNoDelay(true);
    server.setNoDelay(true);
    const end = () => {
      client.destroy();
      server.destroy();
      this.sockets.delete(client);
      this.sockets.delete(server);
    };
    client.on('error', end).on('close', end);
    server.on('error', end).on('close', end);
    server.pipe(client);

    let database = '?';
    let startup = true;
    let header = Buffer.alloc(0);
    let skip = 0;
    let startupBody: Buffer | null = null;
    let startupNeed = 0;
    client.on('data', (chunk: Buffer) => {
      server.write(chunk);
      let i = 0;
      while (i < chunk.length) {
        if (startupBody) {
          const n = Math.min(startupNeed - startupBody.length, chunk.length - i);
          startupBody = Buffer.concat([startupBody, chunk.subarray(i, i + n)]);
          i += n;
          if (startupBody.length === startupNeed) {
            const parts = startupBody.toString('utf8').split('\0');
            const at = parts.indexOf('database');
            if (at >= 0) database = parts[at + 1] ?? '?';
            startupBody = null;
            startup = false;
          }
          continue;
        }
        if (skip > 0) {
          const n = Math.min(skip, chunk.length - i);
          skip -= n;
          i += n;
          continue;
        }
        const size = startup ? 8 : 5;
        const n = Math.min(size - header.length, chunk.length - i);
        header = Buffer.concat([header, chunk.subarray(i, i + n)]);
        i += n;
        if (header.length < size) continue;
        if (startup) {
          const length = header.readInt32BE(0);
          const code = header.readInt32BE(4);
          if (code === SSL_REQUEST || code === GSSENC_REQUEST) skip = length - 8;
          else {
            startupBody = Buffer.alloc(0);
            startupNeed = length - 8;
          }
        } else {
          const type = header[0]!;
          if (type === 0x51 /* Q */ || type === 0x45 /* E */) this.counts.set(database, (this.counts.get(database) ?? 0) + 1);
          skip = header.readInt32BE(1) - 4;
        }
        header = Buffer.alloc(0);
      }
    });
    client.on('end', () => server.end());
  }
}
