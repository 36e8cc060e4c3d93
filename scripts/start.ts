/**
 * `npm start [-- --replicas N]`: checks the backing services, prepares the databases and the
 * broker, starts every service and then the gateway, each as its own process running its
 * compiled JavaScript (npm start builds them first), prints what is up where, and stops
 * everything gracefully on Ctrl-C.
 *
 * With `--replicas 2`, two processes of every service and two gateways: gateway n calls the
 * services of replica n, and all of them share the databases, the broker's queues, the saga
 * queues and the rate limits, as replicas in a cluster do.
 *
 * Everything it names (databases, broker prefix, Redis keys, ports) follows STACK_NAME and
 * PORT_OFFSET, so a second copy can run beside the first: `STACK_NAME=mercado2 PORT_OFFSET=100 npm start`.
 */
import { createServer } from 'node:net';
import { parseArgs } from 'node:util';
import { localSecrets, startSystem, type DeployableProcess, type RunningSystem } from '@mercado/bring-up';
import { allPorts, reachableHost, type Stack } from '@mercado/system';
import { scriptStack } from './lib/environment.ts';
import { formatLogLine } from './lib/logLines.ts';
import { checkBackingServices, prepare } from './setup.ts';

const { values: args } = parseArgs({ options: { replicas: { type: 'string', default: '1' } } });
const replicas = Number(args.replicas);
if (!Number.isInteger(replicas) || replicas < 1 || replicas > 5) {
  console.error('--replicas is a whole number from 1 to 5');
  process.exit(2);
}

/** A port in use would make a service exit at once, or worse, readiness checks answer for another process. */
async function checkPortsFree(stack: Stack, ports: number[]): Promise<void> {
  const busy: number[] = [];
  for (const port of ports) {
    const free = await new Promise<boolean>((resolve) => {
      const server = createServer();
      server.once('error', () => resolve(false));
      server.listen(port, stack.host, () => server.close(() => resolve(true)));
    });
    if (!free) busy.push(port);
  }
  if (busy.length) {
    console.error(
      `\nPorts already in use on ${stack.host}: ${busy.join(', ')}. Is Mercado already running? Stop it, ` +
        'or run a second copy with other ports and names: STACK_NAME=mercado2 PORT_OFFSET=100 npm start\n',
    );
    process.exit(1);
  }
}

const stack = scriptStack();
const secrets = localSecrets();
await checkBackingServices(stack);
await checkPortsFree(stack, allPorts(stack, replicas));
if (secrets.created) console.log('Created .mercado/secrets.env: this installation\'s own INTERNAL_TOKEN_SECRET (git-ignored).');
await prepare(stack);

let system: RunningSystem | undefined;
let stopping = false;
async function stopAll(code: number): Promise<never> {
  if (stopping) process.exit(1); // a second Ctrl-C: no more waiting
  stopping = true;
  console.log('\nStopping Mercado (each process finishes what it is doing; Ctrl-C again to kill)…');
  await system?.stop();
  process.exit(code);
}
process.on('SIGINT', () => void stopAll(0));
process.on('SIGTERM', () => void stopAll(0));

console.log(`\nStarting ${replicas > 1 ? `${replicas} replicas of ` : ''}every service, then the gateway:`);
try {
  system = await startSystem({
    stack,
    secret: secrets.INTERNAL_TOKEN_SECRET,
    replicas,
    onLine: (label, line) => console.log(formatLogLine(label, line)),
  });
} catch (error) {
  if (stopping) await new Promise(() => {}); // stopAll exits the process
  console.error(`\n${(error as Error).message}\n`);
  await stopAll(1);
}
for (const proc of [...system!.services, ...system!.gateways]) {
  void proc.exited.then((exit) => {
    if (stopping) return;
    console.error(formatLogLine(proc.label, `exited (${exit.signal ?? `code ${exit.code}`}); stopping everything`));
    void stopAll(1);
  });
}

const row = (p: DeployableProcess) => `  ${p.label.padEnd(12)} ${p.url.padEnd(34)} ${p.name === 'gateway' ? '' : `metrics ${p.managementUrl}/metrics`}`;
const browser = `http://${reachableHost(stack.host) === '127.0.0.1' ? 'localhost' : reachableHost(stack.host)}:${system!.gateways[0]!.ports.port}/graphql`;
console.log(`\n  Mercado is up (stack "${stack.name}")\n`);
for (const p of system!.gateways) console.log(row(p));
for (const p of system!.services) console.log(row(p));
console.log(`\n  Open ${browser} in a browser for Apollo Sandbox.`);
console.log('  Sign in as alice@mercado.dev / alice-password (more in README). Ctrl-C stops everything.\n');
