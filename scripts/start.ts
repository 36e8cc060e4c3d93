/**
 * `npm start`: checks the backing services, prepares the databases, starts every subgraph and
 * then the gateway as child processes with prefixed, readable logs, prints what is up where,
 * and stops everything on Ctrl-C.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { environment } from './lib/environment.ts';
import { services } from '@mercado/stack';
import { bundleForNode, gatewayDist } from '@mercado/gateway/build';
import { formatLogLine } from './lib/logLines.ts';
import { bootstrapReadModels, checkBackingServices, databaseUrl, setupBroker, setupDatabases } from './setup.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const children: Array<{ name: string; child: ChildProcess }> = [];
let stopping = false;

/** Starts `entry`: TypeScript under tsx, or plain JavaScript (the compiled gateway) with node alone. */
function run(name: string, entry: string, env: Record<string, string>): ChildProcess | undefined {
  if (stopping) return undefined; // never start a process after shutdown began: it would be orphaned
  const child = spawn(process.execPath, entry.endsWith('.ts') ? ['--import', 'tsx', entry] : [entry], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  for (const stream of [child.stdout!, child.stderr!]) {
    createInterface({ input: stream }).on('line', (line) => console.log(formatLogLine(name, line)));
  }
  child.on('exit', (code, signal) => {
    if (stopping) return;
    console.error(formatLogLine(name, `exited (${signal ?? `code ${code}`}); stopping everything`));
    void stopAll(1);
  });
  children.push({ name, child });
  return child;
}

async function waitForHealth(name: string, url: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (stopping) return;
    try {
      if ((await fetch(url)).ok) return;
    } catch {}
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${name} did not become healthy at ${url} within ${timeoutMs / 1000} s`);
}

/** A port in use would make a service exit at once, or worse, health checks answer for another process. */
async function checkPortsFree(ports: number[]): Promise<void> {
  const busy: number[] = [];
  for (const port of ports) {
    const free = await new Promise<boolean>((resolve) => {
      const server = createServer();
      server.once('error', () => resolve(false));
      server.listen(port, environment.HOST, () => server.close(() => resolve(true)));
    });
    if (!free) busy.push(port);
  }
  if (busy.length) {
    console.error(`\nPorts already in use on ${environment.HOST}: ${busy.join(', ')}. Is Mercado already running? Stop it first.\n`);
    process.exit(1);
  }
}

async function stopAll(code: number): Promise<never> {
  stopping = true;
  const exits = children
    .filter(({ child }) => child.exitCode === null && child.signalCode === null)
    .map(({ child }) => new Promise((resolve) => child.once('exit', resolve)));
  for (const { child } of children) child.kill('SIGTERM');
  await Promise.race([Promise.all(exits), new Promise((r) => setTimeout(r, 10_000))]);
  process.exit(code);
}

process.once('SIGINT', () => {
  console.log('\nStopping Mercado…');
  void stopAll(0);
});
process.once('SIGTERM', () => void stopAll(0));

await checkBackingServices();
await checkPortsFree([...services.map((s) => s.defaultPort), environment.GATEWAY_PORT]);
console.log('Preparing databases and broker:');
await setupDatabases();
await setupBroker();
await bootstrapReadModels();

const host = environment.HOST;
const table: Array<[string, string]> = [];
await Promise.all(
  services.map(async (service) => {
    run(service.name, `subgraphs/${service.name}/src/main.ts`, {
      PORT: String(service.defaultPort),
      HOST: host,
      DATABASE_URL: databaseUrl(service.name),
      AMQP_URL: environment.AMQP_URL,
      EVENTS_PREFIX: environment.EVENTS_PREFIX,
    });
    const base = `http://${host}:${service.defaultPort}`;
    await waitForHealth(service.name, `${base}/health`);
    table.push([service.name, `${base}/graphql`]);
  }),
);

const gatewayBase = `http://${host === '0.0.0.0' ? 'localhost' : host}:${environment.GATEWAY_PORT}`;
// The gateway runs as it ships: compiled to JavaScript (`npm run build -w @mercado/gateway`), fresh from the sources.
await bundleForNode([join(root, 'gateway/src/main.ts')], gatewayDist);
run('gateway', join(gatewayDist, 'main.js'), { PORT: String(environment.GATEWAY_PORT), HOST: host });
await waitForHealth('gateway', `${gatewayBase}/health`);

if (stopping) await new Promise(() => {}); // stopAll exits the process
table.sort(([a], [b]) => services.findIndex((s) => s.name === a) - services.findIndex((s) => s.name === b));
const rows: Array<[string, string]> = [['gateway', `${gatewayBase}/graphql`], ...table];
console.log('\n  Mercado is up\n');
for (const [name, url] of rows) console.log(`  ${name.padEnd(10)} ${url}`);
console.log(`\n  Open ${gatewayBase}/graphql in a browser for Apollo Sandbox.`);
console.log('  Sign in as alice@mercado.dev / alice-password (more in README). Ctrl-C stops everything.\n');
