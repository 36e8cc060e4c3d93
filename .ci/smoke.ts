/**
 * CI's smoke of `npm start`, as a user runs it: starts it (with this run's STACK_NAME and
 * PORT_OFFSET), waits until it prints where to point a browser (or the gateway's /ready answers
 * 200), asks the gateway for one product, sends the start script SIGTERM, and checks that it and
 * every process it started exit (exit code 0). `npm start` keeps its databases, so the smoke
 * drops what the stack made (databases, broker topology, saga keys) itself and checks that no
 * database of the stack is left.
 *
 *   STACK_NAME=mercadoci PORT_OFFSET=1000 node --import tsx .ci/smoke.ts
 *   (SMOKE_STOP=ctrl-c: stop it as a terminal's Ctrl-C does instead, SIGINT to its process group)
 */
import { execFileSync, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { dropStack } from '@mercado/bring-up';
import { portsOf, reachableHost, stackFromEnvironment } from '@mercado/system';

const root = fileURLToPath(new URL('..', import.meta.url));
const stack = stackFromEnvironment();
const startTimeoutMs = Number(process.env.SMOKE_START_TIMEOUT_MS ?? 900_000);
const stopTimeoutMs = 120_000;
const log = (message: string) => console.log(`smoke[${stack.name}]: ${message}`);
const gatewayUrl = `http://${reachableHost(stack.host)}:${portsOf(stack, 'gateway').port}`;

function fail(message: string): never {
  throw new Error(`smoke[${stack.name}]: ${message}`);
}

/** pid, ppid and command line of every process. */
function processTable(): Array<{ pid: number; ppid: number; args: string }> {
  return execFileSync('ps', ['-eo', 'pid=,ppid=,args='], { encoding: 'utf8' })
    .split('\n')
    .map((line) => /^\s*(\d+)\s+(\d+)\s+(.*)$/.exec(line))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ pid: Number(m[1]), ppid: Number(m[2]), args: m[3]! }));
}

function descendants(pid: number): Array<{ pid: number; ppid: number; args: string }> {
  const table = processTable();
  const found: Array<{ pid: number; ppid: number; args: string }> = [];
  const walk = (parent: number) => {
    for (const p of table) if (p.ppid === parent) (found.push(p), walk(p.pid));
  };
  walk(pid);
  return found;
}

/** Live processes (not zombies) of a process group. */
function inGroup(pgid: number): Array<{ pid: number; args: string }> {
  return execFileSync('ps', ['-eo', 'pid=,pgid=,stat=,args='], { encoding: 'utf8' })
    .split('\n')
    .map((line) => /^\s*(\d+)\s+(\d+)\s+(\S+)\s+(.*)$/.exec(line))
    .filter((m): m is RegExpExecArray => m !== null && Number(m[2]) === pgid && !m[3]!.startsWith('Z'))
    .map((m) => ({ pid: Number(m[1]), args: m[4]! }));
}

async function ready(): Promise<boolean> {
  try {
    const res = await fetch(`${gatewayUrl}/ready`, { signal: AbortSignal.timeout(5_000) });
    return res.status === 200;
  } catch {
    return false;
  }
}

const startedAt = Date.now();
// Its own process group, so that whatever is left at the end can be found and killed.
const child = spawn('npm', ['start'], { cwd: root, env: { ...process.env, LOG_LEVEL: process.env.SMOKE_LOG_LEVEL ?? 'warn' }, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
let output = '';
let browserLine = false;
for (const stream of [child.stdout, child.stderr]) {
  createInterface({ input: stream }).on('line', (line) => {
    output += `${line}\n`;
    if (output.length > 200_000) output = output.slice(-100_000);
    if (/Open http:\/\/\S+ in a browser/.test(line)) browserLine = true;
  });
}

let code = 1;
try {
  for (;;) {
    if (browserLine || (await ready())) break;
    if (child.exitCode !== null || child.signalCode !== null) fail(`npm start exited before it was up:\n${output.slice(-5_000)}`);
    if (Date.now() - startedAt > startTimeoutMs) fail(`not up after ${startTimeoutMs / 1000} s:\n${output.slice(-5_000)}`);
    await new Promise((r) => setTimeout(r, 1_000));
  }
  log(`up in ${((Date.now() - startedAt) / 1000).toFixed(1)} s (${browserLine ? 'printed where to point a browser' : '/ready answered 200'})`);
  if (!(await ready())) fail('the gateway printed its address but /ready does not answer 200');

  const res = await fetch(`${gatewayUrl}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'apollo-require-preflight': 'true' },
    body: JSON.stringify({ query: '{ products(first: 1) { totalCount edges { node { id name priceCents } } } }' }),
  });
  const body = (await res.json()) as { data?: { products?: { totalCount: number; edges: Array<{ node: { id: string; name: string } }> } }; errors?: unknown };
  const product = body.data?.products?.edges[0]?.node;
  if (res.status !== 200 || body.errors || !product?.id || !product.name) fail(`unexpected answer (${res.status}): ${JSON.stringify(body)}`);
  log(`the gateway answered one product: ${product.name} (${body.data!.products!.totalCount} in all)`);

  // SIGTERM to the start script itself (the node process running scripts/start.ts, not tsx's
  // launcher, which would relay it a second time, nor npm's shell, which does not relay it).
  const starts = descendants(child.pid!).filter((p) => p.args.includes('scripts/start.ts'));
  const script = starts.find((p) => !starts.some((q) => q.ppid === p.pid)) ?? fail(`no scripts/start.ts process under npm start (${starts.length})`);
  const stopAt = Date.now();
  // SMOKE_STOP=ctrl-c: SIGINT to the whole process group, as a terminal's Ctrl-C does.
  if (process.env.SMOKE_STOP === 'ctrl-c') process.kill(-child.pid!, 'SIGINT');
  else process.kill(script.pid, 'SIGTERM');
  const exit = await Promise.race([exited, new Promise<null>((r) => setTimeout(() => r(null), stopTimeoutMs))]);
  if (!exit) fail(`npm start did not exit within ${stopTimeoutMs / 1000} s of SIGTERM:\n${output.slice(-3_000)}`);
  // Whatever npm start left behind is still in its process group (re-parented, so no longer
  // under npm): a process that exited a moment after is given a few seconds.
  let left = inGroup(child.pid!);
  if (left.length) log(`still exiting when npm start did: ${left.map((p) => `${p.pid} ${p.args.slice(0, 80)}`).join('; ')}`);
  for (let i = 0; i < 10 && left.length; i++) {
    await new Promise((r) => setTimeout(r, 500));
    left = inGroup(child.pid!);
  }
  if (left.length) fail(`processes left after npm start exited: ${left.map((p) => `${p.pid} ${p.args}`).join('; ')}`);
  // npm itself dies of a SIGINT it was sent (exit status 130 in a shell); what it started must not.
  const clean = exit.code === 0 || (process.env.SMOKE_STOP === 'ctrl-c' && exit.signal === 'SIGINT');
  if (!clean) fail(`npm start exited with ${exit.signal ?? `code ${exit.code}`} after ${process.env.SMOKE_STOP === 'ctrl-c' ? 'Ctrl-C' : 'SIGTERM'}:\n${output.slice(-3_000)}`);
  if (/second signal|exited \((?!code 0)/.test(output)) fail(`a process did not stop gracefully:\n${output.slice(-3_000)}`);
  log(`stopped in ${((Date.now() - stopAt) / 1000).toFixed(1)} s after ${process.env.SMOKE_STOP === 'ctrl-c' ? 'Ctrl-C' : 'SIGTERM'}, exit ${exit.signal ?? `code ${exit.code}`}, no process left`);
  code = 0;
} catch (error) {
  console.error((error as Error).message);
} finally {
  try {
    process.kill(-child.pid!, 'SIGKILL'); // only if something is still there
  } catch {}
  await dropStack(stack);
  const client = new pg.Client({ connectionString: stack.postgresUrl });
  await client.connect();
  const { rows } = await client.query<{ datname: string }>('SELECT datname FROM pg_database WHERE datname LIKE $1', [`${stack.name}\\_%`]);
  await client.end();
  if (rows.length) {
    console.error(`smoke[${stack.name}]: databases left after dropping the stack: ${rows.map((r) => r.datname).join(', ')}`);
    code = 1;
  } else log('dropped the stack\'s databases, broker topology and saga keys');
}
process.exit(code);
