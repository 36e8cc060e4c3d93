/** Helpers for tests that need the real broker to misbehave. */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const exec = promisify(execFile);

/**
 * Closes, broker-side, every connection whose client named itself with a name starting with
 * `namePrefix` (rabbitmqctl close_connection, as an operator or a broker restart would).
 * Returns how many it closed.
 */
export async function closeBrokerConnections(namePrefix: string): Promise<number> {
  const { stdout } = await exec('rabbitmqctl', ['-q', 'list_connections', '--no-table-headers', 'pid', 'client_properties']);
  const pids = stdout
    .split('\n')
    .filter((line) => line.includes(`"${namePrefix}`))
    .map((line) => line.split(/\s+/)[0]!)
    .filter(Boolean);
  for (const pid of pids) await exec('rabbitmqctl', ['-q', 'close_connection', pid, 'test: broker connection closed on purpose']);
  return pids.length;
}
