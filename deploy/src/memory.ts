/**
 * `npm run memory`: the resident memory of every deployable started from its compiled bundle,
 * at rest, under several sets of node flags, and what each set costs in throughput. These
 * figures set the pods' memory requests and limits (packages/system/src/runtime.ts).
 *
 * For each set of flags it brings a copy of the system up on databases, queues and keys of its
 * own (STACK_NAME mercadodeploy<random>, PORT_OFFSET 1100 unless set), signs in and sends a few
 * operations that touch every subgraph through the gateway, waits for the processes to settle,
 * then reads each process's RSS (/proc/<pid>/status) and V8 heap (its /metrics), then drives the
 * products page through the gateway for a few seconds with 16 concurrent clients (req/s, and
 * each process's CPU time per page, which other work on the machine does not inflate), and
 * reads RSS again. Then it stops everything and drops what it made.
 *
 *   npm run memory                       every set of flags below
 *   npm run memory -- --only declared    the declared flags only
 *   npm run memory -- --node /path/node  another Node (e.g. 24, as in the image)
 *   npm run memory -- --only declared,x --variant 'x=--flag ...'   a set of one's own next to them
 *
 * Wrap it in `flock /tmp/mercado-bench.lock` on a shared machine.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { dropStack, declareBroker, prepareDatabases, startSystem, type DeployableProcess } from '@mercado/bring-up';
import { gateway, runtimeOf, stackFromEnvironment, subgraphRuntimes } from '@mercado/system';

interface Variant {
  label: string;
  /** Flags of every subgraph, or each one's declared flags; the gateway's are the declared ones unless `gateway` says otherwise. */
  subgraph?: readonly string[];
  gateway?: readonly string[];
}

const lean = subgraphRuntimes.lean.nodeFlags;
// --jitless and --lite-mode are not among them: both turn WebAssembly off, and Prisma's query
// compiler is WebAssembly (the service never becomes ready).
const variants: Variant[] = [
  { label: 'none', subgraph: [], gateway: [] },
  { label: 'liftoff+semi', subgraph: ['--liftoff-only', '--max-semi-space-size=1'] },
  { label: 'optimize-for-size', subgraph: ['--liftoff-only', '--max-semi-space-size=1', '--optimize-for-size'] },
  // The lean flags but with Sparkplug, V8's baseline compiler: less CPU for a little memory?
  { label: 'sparkplug', subgraph: lean.filter((flag) => flag !== '--no-sparkplug') },
  // Every subgraph on one of the two runtimes of runtime.ts, and each on its own (declared).
  { label: 'lean', subgraph: lean },
  { label: 'throughput', subgraph: subgraphRuntimes.throughput.nodeFlags },
  { label: 'declared' },
];

const { values } = parseArgs({
  options: { only: { type: 'string' }, node: { type: 'string' }, seconds: { type: 'string', default: '5' }, variant: { type: 'string', multiple: true } },
});
// `--variant 'label=--flag --flag'` (repeatable): a set of subgraph flags of one's own, measured next to the named ones.
for (const spec of values.variant ?? []) {
  const at = spec.indexOf('=');
  if (at < 1) throw new Error(`--variant wants label=flags, got "${spec}"`);
  variants.push({ label: spec.slice(0, at), subgraph: spec.slice(at + 1).split(' ').filter(Boolean) });
}
const chosen = values.only ? variants.filter((v) => values.only!.split(',').includes(v.label)) : variants;
if (!chosen.length) throw new Error(`--only names none of ${variants.map((v) => v.label).join(', ')}`);
const loadSeconds = Number(values.seconds);

const mib = (bytes: number) => bytes / 1024 / 1024;

function rssOf(proc: DeployableProcess): number {
  const status = readFileSync(`/proc/${proc.child.pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) * 1024;
}

/** CPU time the process has used, user and system, in ms (/proc/<pid>/stat, 100 ticks a second). */
function cpuMsOf(proc: DeployableProcess): number {
  const fields = readFileSync(`/proc/${proc.child.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

async function heapOf(proc: DeployableProcess): Promise<number | undefined> {
  if (proc.name === gateway.name) return undefined; // no management port on the gateway yet
  const text = await (await fetch(`${proc.managementUrl}/metrics`)).text();
  const used = /^nodejs_heap_size_used_bytes (\S+)$/m.exec(text);
  return used ? Number(used[1]) : undefined;
}

async function graphql(url: string, query: string, token?: string): Promise<any> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query }),
  });
  const body = (await res.json()) as { data?: unknown; errors?: unknown[] };
  if (!res.ok || body.errors) throw new Error(`${res.status} ${JSON.stringify(body).slice(0, 300)}`);
  return body.data;
}

const productsPage = `{ products(first: 20) { totalCount edges { node { name priceCents inStock stock { available reserved } averageRating reviews(first: 2) { rating body author { name } } } } } }`;
const myAccount = `{ me { name orders { status totalCents lines { quantity product { name } } } paymentAccount { creditLimitCents heldCents } } }`;

/** Requests per second of `query` through the gateway with `clients` concurrent clients. */
async function throughput(url: string, query: string, token: string, seconds: number, clients = 16): Promise<{ rps: number; requests: number }> {
  const until = Date.now() + seconds * 1000;
  let done = 0;
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (Date.now() < until) {
        await graphql(url, query, token);
        done++;
      }
    }),
  );
  return { rps: done / seconds, requests: done };
}

interface Row {
  variant: string;
  process: string;
  flags: string;
  rest: number;
  heap?: number;
  loaded: number;
  rps: number;
  /** CPU the process spent per products page during the load run: other sessions' load does not count. */
  cpuMsPerRequest: number;
}

async function measure(variant: Variant): Promise<Row[]> {
  const stack = stackFromEnvironment({
    ...process.env,
    STACK_NAME: `mercadodeploy${randomBytes(3).toString('hex')}`,
    PORT_OFFSET: process.env.PORT_OFFSET ?? '1100',
  });
  const flagsOf = (name: string) => (name === gateway.name ? (variant.gateway ?? runtimeOf(gateway.name).nodeFlags) : (variant.subgraph ?? runtimeOf(name).nodeFlags));
  try {
    await prepareDatabases(stack);
    await declareBroker(stack);
    const system = await startSystem({
      stack,
      secret: randomBytes(32).toString('hex'),
      env: { LOG_LEVEL: 'warn', APOLLO_TELEMETRY_DISABLED: '1', NODE_ENV: 'development', RATE_LIMIT_POINTS: '100000000' },
      nodeArgs: flagsOf,
      ...(values.node ? { nodeBinary: values.node } : {}),
    });
    try {
      const url = system.gateways[0]!.url;
      const { login } = await graphql(url, `mutation { login(email: "alice@mercado.dev", password: "alice-password") { token } }`);
      for (let i = 0; i < 10; i++) {
        await graphql(url, productsPage, login.token);
        await graphql(url, myAccount, login.token);
      }
      await new Promise((resolve) => setTimeout(resolve, 5_000));
      const processes = [...system.services, ...system.gateways];
      const rest = await Promise.all(processes.map(async (p) => ({ p, rss: rssOf(p), heap: await heapOf(p) })));
      const cpuBefore = processes.map(cpuMsOf);
      const { rps, requests } = await throughput(url, productsPage, login.token, loadSeconds);
      const cpuMs = processes.map((p, i) => (cpuMsOf(p) - cpuBefore[i]!) / requests);
      const loaded = processes.map(rssOf);
      return rest.map(({ p, rss, heap }, i) => ({
        variant: variant.label,
        process: p.label,
        flags: flagsOf(p.name).join(' ') || '(none)',
        rest: rss,
        ...(heap !== undefined ? { heap } : {}),
        loaded: loaded[i]!,
        rps,
        cpuMsPerRequest: cpuMs[i]!,
      }));
    } finally {
      await system.stop();
    }
  } finally {
    await dropStack(stack);
  }
}

console.log(`Node ${process.versions.node}${values.node ? ` (processes: ${values.node})` : ''}; ${loadSeconds} s of products pages per set of flags\n`);
const header = `| flags set | process | node flags | RSS at rest MiB | heap used MiB | RSS after load MiB | CPU ms per page | gateway req/s |`;
console.log(header);
console.log('| --- | --- | --- | --- | --- | --- | --- | --- |');
const summary: string[] = [];
for (const variant of chosen) {
  const rows = await measure(variant);
  for (const r of rows) {
    console.log(`| ${r.variant} | ${r.process} | ${r.flags} | ${mib(r.rest).toFixed(0)} | ${r.heap !== undefined ? mib(r.heap).toFixed(1) : '-'} | ${mib(r.loaded).toFixed(0)} | ${r.cpuMsPerRequest.toFixed(2)} | ${r.rps.toFixed(0)} |`);
  }
  const subgraphs = rows.filter((r) => r.process !== gateway.name);
  const max = Math.max(...subgraphs.map((r) => r.rest));
  const mean = subgraphs.reduce((sum, r) => sum + r.rest, 0) / subgraphs.length;
  const subgraphCpu = subgraphs.reduce((sum, r) => sum + r.cpuMsPerRequest, 0);
  summary.push(
    `${variant.label.padEnd(18)} subgraphs at rest: mean ${mib(mean).toFixed(0)} MiB, max ${mib(max).toFixed(0)} MiB; gateway ${mib(rows.find((r) => r.process === gateway.name)!.rest).toFixed(0)} MiB; ${rows[0]!.rps.toFixed(0)} req/s; subgraphs' CPU ${subgraphCpu.toFixed(2)} ms per page`,
  );
}
console.log(`\n${summary.join('\n')}`);
