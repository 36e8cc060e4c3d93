/**
 * `npm run bench`: gateways side by side on the same supergraph and the same load.
 *
 * For each workload it starts the subgraphs as child processes, then each gateway in turn,
 * primes each one with a few seconds of unmeasured load (V8 keeps optimizing for a while; the
 * first round would otherwise pay for it), and runs alternating rounds (the order rotates each
 * round) of fixed-connection load with autocannon: a warm-up, then a measured run. The machine is noisy (about +-12% between runs
 * of the same gateway), so each figure is the median over the rounds, and ratios are taken
 * against the plain @apollo/gateway measured in the same run. Both gateways run as plain
 * JavaScript: Mercado's built as it ships (gateway/build.ts, into gateway/dist), the baseline
 * compiled by the same bundler (into bench/dist); the subgraphs run under tsx.
 *
 *   npm run bench                     5 s priming, then 3 rounds of 3 s warm-up + 10 s per gateway and workload
 *   npm run bench -- --quick          2 s priming, 1 round of 2 s warm-up + 5 s (a smoke run)
 *   BENCH_DURATION=20 BENCH_ROUNDS=5 npm run bench
 *   npm run bench -- --workloads=public-benchmark --cpu-prof
 *
 * Flags (or env): --duration=<s> (BENCH_DURATION), --rounds=<n> (BENCH_ROUNDS),
 * --warmup=<s> (BENCH_WARMUP), --prime=<s> (BENCH_PRIME), --connections=<n> (BENCH_CONNECTIONS),
 * --workloads=<a,b> (BENCH_WORKLOADS), --gateways=<a,b> (BENCH_GATEWAYS; apollo always runs, it
 * is the baseline), --cpu-prof (profile Mercado's gateway, written to bench/results/profiles/).
 * Without --workloads, --gateways or --gateways-only it then runs `bench:events`, `bench:saga` and `bench:live`
 * (with --quick when given) and includes their results in latest.json.
 */
import { spawnSync } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { INTERNAL_CONTEXT_HEADER, signInternalContext } from '@mercado/service-kit';
import { bundleForNode } from '@mercado/build';
import { z } from 'zod';
import { publicSubgraphNames, publicSubgraphPorts } from '../public-benchmark/src/subgraphs.ts';
import { publicSupergraphPath } from '../public-benchmark/src/compose.ts';
import { startCpuMeter } from './lib/cpu.ts';
import { runLoad, stopLoad, type RoundResult } from './lib/load.ts';
import { cleanUpMercadoStack, startBenchServices } from './lib/mercadoStack.ts';
import { assertPortFree, killAll, startProcess, stopAll, waitUntilReady, watchPeakRss, type Child } from './lib/processes.ts';
import { formatSvg, formatTable, machine, median, rounded, type Figures, type Results, type TableRows } from './lib/report.ts';
import { subgraphNames, withSubgraphUrls } from './lib/supergraph.ts';
import { loginMutation, mercadoMeOrdersQuery, mercadoProductsQuery, oneSubgraphQuery, publicBenchmarkQuery } from './queries.ts';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const resultsDir = fileURLToPath(new URL('../results/', import.meta.url));

// ---------------------------------------------------------------- configuration

const flags = Object.fromEntries(
  process.argv.slice(2).map((arg) => {
    const [key, value] = arg.replace(/^--/, '').split('=');
    return [key!, value ?? 'true'];
  }),
);
const quick = flags.quick === 'true';
const config = z
  .object({
    duration: z.coerce.number().positive().default(quick ? 5 : 10),
    rounds: z.coerce.number().int().positive().default(quick ? 1 : 3),
    warmup: z.coerce.number().nonnegative().default(quick ? 2 : 3),
    prime: z.coerce.number().nonnegative().default(quick ? 2 : 5),
    connections: z.coerce.number().int().positive().default(50),
    workloads: z.string().optional(),
    gateways: z.string().optional(),
    cpuProf: z.boolean().default(false),
    gatewaysOnly: z.boolean().default(false),
  })
  .parse({
    duration: flags.duration ?? process.env.BENCH_DURATION,
    rounds: flags.rounds ?? process.env.BENCH_ROUNDS,
    warmup: flags.warmup ?? process.env.BENCH_WARMUP,
    prime: flags.prime ?? process.env.BENCH_PRIME,
    connections: flags.connections ?? process.env.BENCH_CONNECTIONS,
    workloads: flags.workloads ?? process.env.BENCH_WORKLOADS,
    gateways: flags.gateways ?? process.env.BENCH_GATEWAYS,
    cpuProf: flags['cpu-prof'] === 'true',
    gatewaysOnly: flags['gateways-only'] === 'true',
  });

// Shared by Mercado's gateway, its subgraphs and the apollo baseline for this run only.
const internalSecret = `bench-${randomBytes(24).toString('hex')}`;

const ports = { mercado: 4400, apollo: 4401, hive: 4402, 'hive-dedupe': 4403, 'mercado-traced': 4404, 'mercado-sampled': 4405, otlpSink: 4406 } as const;

const log = (line = '') => console.log(line);
const notes: string[] = [];

// ---------------------------------------------------------------- processes

/** The runner's environment minus what would point a child elsewhere. */
function baseEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const key of Object.keys(env)) {
    if (/^(PORT|HOST|SUPERGRAPH_PATH|DATABASE_URL|NODE_ENV|SUBGRAPH_\w+_URL)$/.test(key)) delete env[key];
  }
  return { ...env, APOLLO_TELEMETRY_DISABLED: '1', ...extra };
}

const tsNode = (script: string, nodeFlags: string[] = []) => ['--import', 'tsx', ...nodeFlags, script];

/**
 * Both gateways run as plain JavaScript, as each would be deployed: Mercado's as it ships
 * (`npm run build -w @mercado/gateway`, which `npm start` and the Dockerfile run), the apollo
 * baseline compiled by the same bundler. Under tsx each would carry tsx's loader and caches
 * (tens of MB of resident memory) and tsx's source-mapped stack traces.
 */
const gatewayDist = join(repoRoot, 'gateway/dist');
const compiledGateways = { mercado: join(gatewayDist, 'main.js'), apollo: join(repoRoot, 'bench/dist/gateways/apollo.js') };

async function compileGateways() {
  await bundleForNode([join(repoRoot, 'gateway/src/main.ts')], gatewayDist);
  await bundleForNode([join(repoRoot, 'bench/src/gateways/apollo.ts')], join(compiledGateways.apollo, '..'));
}

function hiveBin(): string {
  const require = createRequire(import.meta.url);
  const pkgPath = require.resolve('@graphql-hive/gateway/package.json');
  const pkg = JSON.parse(readFileSync(pkgPath, 'utf8')) as { bin: string | Record<string, string> };
  const bin = typeof pkg.bin === 'string' ? pkg.bin : pkg.bin['hive-gateway']!;
  return join(pkgPath, '..', bin);
}

interface Subgraphs {
  supergraphPath: string;
  urls: Record<string, string>;
  pids: number[];
  stop(): Promise<void>;
}

async function startChildren(defs: Array<{ name: string; port: number; args: string[]; env: Record<string, string>; accept: (s: number) => boolean }>) {
  const children: Child[] = [];
  const stop = async () => {
    for (const child of [...children].reverse()) await child.stop();
  };
  try {
    for (const def of defs) await assertPortFree(def.port);
    for (const def of defs) children.push(startProcess(def.name, process.execPath, def.args, baseEnv(def.env), repoRoot));
    await Promise.all(children.map((child, i) => waitUntilReady(child, `http://127.0.0.1:${defs[i]!.port}/graphql`, defs[i]!.accept)));
  } catch (error) {
    await stop();
    throw error;
  }
  return { children, stop };
}

async function startPublicSubgraphs(): Promise<Subgraphs> {
  log(`  starting subgraphs ${publicSubgraphNames.join(', ')} (ports ${Object.values(publicSubgraphPorts).join(', ')})`);
  const { children, stop } = await startChildren(
    publicSubgraphNames.map((name) => ({
      name,
      port: publicSubgraphPorts[name],
      args: tsNode('bench/public-benchmark/src/main.ts').concat(name),
      env: { PORT: String(publicSubgraphPorts[name]), NODE_ENV: 'production' },
      accept: (s) => s === 200,
    })),
  );
  const urls = Object.fromEntries(publicSubgraphNames.map((n) => [n, `http://127.0.0.1:${publicSubgraphPorts[n]}/graphql`]));
  return { supergraphPath: publicSupergraphPath, urls, pids: children.map((c) => c.pid), stop };
}

async function startMercadoSubgraphs(): Promise<Subgraphs> {
  const { urls, processes } = await startBenchServices(internalSecret, log);
  const stop = async () => {
    await Promise.all(processes.map((p) => p.stop()));
  };
  // The committed supergraph names the development ports; the bench's copy names its own.
  const sdl = readFileSync(join(repoRoot, 'gateway/supergraph.graphql'), 'utf8');
  const unknown = subgraphNames(sdl).filter((n) => !urls[n]);
  if (unknown.length) throw new Error(`gateway/supergraph.graphql names subgraph(s) the system manifest does not list: ${unknown.join(', ')}`);
  const supergraphPath = join(tmpdir(), `mercado-bench-supergraph-${process.pid}.graphql`);
  writeFileSync(supergraphPath, withSubgraphUrls(sdl, urls));
  return {
    supergraphPath,
    urls,
    pids: processes.map((p) => p.child.pid!),
    stop: async () => {
      await stop();
      rmSync(supergraphPath, { force: true });
      await cleanUpMercadoStack();
    },
  };
}

// ---------------------------------------------------------------- gateways

type GatewayName = 'mercado' | 'mercado-traced' | 'mercado-sampled' | 'apollo' | 'hive' | 'hive-dedupe' | 'direct';

interface RunningGateway {
  name: GatewayName;
  url: string;
  /** The gateway's process (and process group); null for `direct`. */
  pid: number | null;
  /** Peak RSS so far, in MB, of the whole process group; null for `direct`. */
  peakRssMB(): number | null;
  /** Headers for one round (a freshly signed token for `direct`). */
  roundHeaders(): Promise<Record<string, string>>;
  stop(): Promise<void>;
}

interface GatewayContext {
  subgraphs: Subgraphs;
  mercadoSubgraphs: boolean;
  /** Measuring the gateway's own cost: no sharing of identical subgraph fetches, which would hide it. */
  noFetchSharing: boolean;
}

async function startGatewayProcess(name: GatewayName, port: number, args: string[], env: Record<string, string>): Promise<RunningGateway> {
  await assertPortFree(port);
  const started = Date.now();
  const child = startProcess(name, process.execPath, args, baseEnv({ PORT: String(port), ...env }), repoRoot);
  const url = `http://127.0.0.1:${port}/graphql`;
  try {
    await waitUntilReady(child, url, (s) => s === 200);
  } catch (error) {
    await child.stop();
    throw error;
  }
  log(`  ${name.padEnd(11)} ready in ${((Date.now() - started) / 1000).toFixed(1)} s (pid ${child.pid})`);
  const rss = watchPeakRss(child.pid);
  return {
    name,
    url,
    pid: child.pid,
    peakRssMB: () => rss.stop(),
    roundHeaders: async () => ({}),
    stop: async () => {
      rss.stop();
      await child.stop();
    },
  };
}

/**
 * Where the traced gateways send their spans: an OTLP/HTTP endpoint in this process that reads
 * each batch and answers 200, so the cost measured is the gateway's (spans, batching, export),
 * not a collector's.
 */
let otlpSink: Server | undefined;
async function startOtlpSink(): Promise<string> {
  if (!otlpSink) {
    otlpSink = createServer((req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{}'));
    });
    await new Promise<void>((resolve) => otlpSink!.listen(ports.otlpSink, '127.0.0.1', resolve));
  }
  return `http://127.0.0.1:${ports.otlpSink}`;
}

/** Mercado's gateway with traces on: every operation sampled (`always`), or one in ten as production runs (`ratio`). */
async function tracedMercado(name: 'mercado-traced' | 'mercado-sampled', ctx: GatewayContext): Promise<RunningGateway> {
  const endpoint = await startOtlpSink();
  return startMercado(name, ports[name], ctx, {
    OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
    OTEL_TRACES_SAMPLER: name === 'mercado-traced' ? 'parentbased_always_on' : 'parentbased_traceidratio',
    OTEL_TRACES_SAMPLER_ARG: name === 'mercado-traced' ? '1' : '0.1',
  });
}

function startMercado(name: GatewayName, port: number, { subgraphs, mercadoSubgraphs, noFetchSharing }: GatewayContext, extraEnv: Record<string, string> = {}) {
    if (config.cpuProf) mkdirSync(join(resultsDir, 'profiles'), { recursive: true });
    const prof = config.cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${join(resultsDir, 'profiles')}`] : [];
    return startGatewayProcess(name, port, [...prof, compiledGateways.mercado], {
      ...extraEnv,
      // Several of Mercado's gateways run side by side: each gets a free management port.
      METRICS_PORT: '0',
      // The public benchmark's subgraphs declare no @cost/@listSize, so demand control would
      // refuse its nested query (a load test's, not a client's).
      ...(!mercadoSubgraphs && { MAX_QUERY_COST: String(Number.MAX_SAFE_INTEGER) }),
      SUPERGRAPH_PATH: subgraphs.supergraphPath,
      NODE_ENV: 'development',
      LOG_LEVEL: 'warn',
      INTERNAL_TOKEN_SECRET: internalSecret,
      // Rate limiting must not shape a load test; its Redis keys stay apart from anyone else's.
      RATE_LIMIT_POINTS: '100000000',
      RATE_LIMIT_PREFIX: `mercado:bench:${process.pid}:rate`,
      ...(noFetchSharing && { SUBGRAPH_DEDUPE: 'false' }),
      ...(mercadoSubgraphs && { ACCOUNTS_JWKS_URL: `${new URL(subgraphs.urls.accounts!).origin}/.well-known/jwks.json` }),
    });
}

const gatewayStarters: Record<GatewayName, (ctx: GatewayContext) => Promise<RunningGateway>> = {
  mercado: (ctx) => startMercado('mercado', ports.mercado, ctx),
  'mercado-traced': (ctx) => tracedMercado('mercado-traced', ctx),
  'mercado-sampled': (ctx) => tracedMercado('mercado-sampled', ctx),
  apollo: ({ subgraphs, mercadoSubgraphs }) =>
    startGatewayProcess('apollo', ports.apollo, [compiledGateways.apollo], {
      SUPERGRAPH_PATH: subgraphs.supergraphPath,
      ...(mercadoSubgraphs && {
        MERCADO_INTERNAL_TOKEN_SECRET: internalSecret,
        ACCOUNTS_JWKS_URL: `${new URL(subgraphs.urls.accounts!).origin}/.well-known/jwks.json`,
      }),
    }),
  hive: ({ subgraphs }) =>
    startGatewayProcess(
      'hive',
      ports.hive,
      [hiveBin(), 'supergraph', subgraphs.supergraphPath, '--port', String(ports.hive), '--host', '127.0.0.1'],
      { NODE_ENV: 'production' },
    ),
  'hive-dedupe': ({ subgraphs }) =>
    startGatewayProcess(
      'hive-dedupe',
      ports['hive-dedupe'],
      [
        hiveBin(),
        'supergraph',
        subgraphs.supergraphPath,
        '--port',
        String(ports['hive-dedupe']),
        '--host',
        '127.0.0.1',
        '--jit',
        '--config-path',
        join(repoRoot, 'bench/src/gateways/hive-dedupe.config.ts'),
      ],
      { NODE_ENV: 'production' },
    ),
  // The catalog subgraph called directly, signed as the gateway would sign (60 s tokens).
  direct: async ({ subgraphs }) => ({
    name: 'direct',
    url: subgraphs.urls.catalog!,
    pid: null,
    peakRssMB: () => null,
    roundHeaders: async () => ({
      [INTERNAL_CONTEXT_HEADER]: await signInternalContext({ viewer: null, requestId: 'bench-direct' }, internalSecret),
    }),
    stop: async () => {},
  }),
};

// ---------------------------------------------------------------- workloads

interface Workload {
  name: string;
  group: 'public' | 'mercado';
  query: string;
  gateways: GatewayName[];
  /** Client headers for every gateway (a login token), obtained once the gateways run. */
  clientHeaders?: (gateways: RunningGateway[]) => Promise<Record<string, string>>;
}

const workloads: Workload[] = [
  { name: 'public-benchmark', group: 'public', query: publicBenchmarkQuery, gateways: ['mercado', 'apollo', 'hive', 'hive-dedupe'] },
  { name: 'mercado-products', group: 'mercado', query: mercadoProductsQuery, gateways: ['mercado', 'apollo'] },
  {
    name: 'mercado-me-orders',
    group: 'mercado',
    query: mercadoMeOrdersQuery,
    gateways: ['mercado', 'apollo'],
    clientHeaders: async (gateways) => {
      const via = gateways.find((g) => g.name === 'mercado') ?? gateways[0]!;
      const { body } = await post(via.url, loginMutation, {}, { email: 'alice@mercado.dev', password: 'alice-password' });
      const token = (body as { data?: { login?: { token?: string } } }).data?.login?.token;
      if (!token) throw new Error(`login through ${via.name} failed: ${JSON.stringify(body)}`);
      return { authorization: `Bearer ${token}` };
    },
  },
  { name: 'gateway-overhead', group: 'mercado', query: oneSubgraphQuery, gateways: ['mercado', 'apollo', 'direct'] },
  // What tracing costs the gateway: off, every operation sampled, and one in ten (production's ratio).
  { name: 'mercado-tracing', group: 'mercado', query: mercadoProductsQuery, gateways: ['mercado', 'mercado-traced', 'mercado-sampled', 'apollo'] },
];

async function post(url: string, query: string, headers: Record<string, string> = {}, variables?: Record<string, unknown>) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ query, ...(variables && { variables }) }),
  });
  const text = await res.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = text;
  }
  return { status: res.status, text, body };
}

// ---------------------------------------------------------------- running

const fmt = (n: number) => (n >= 100 ? n.toFixed(0) : n.toFixed(1));

interface Round extends RoundResult {
  gatewayCpuMsPerRequest: number | null;
  othersPercent: number;
}

function roundLine(workload: string, round: number, gateway: string, r: Round): string {
  const errors = r.errors ? `  errors ${r.errors} (${Object.entries(r.errorKinds).map(([k, v]) => `${k}: ${v}`).join(', ')})` : '';
  const cpu = r.gatewayCpuMsPerRequest === null ? '' : `  gateway CPU ${fmt(r.gatewayCpuMsPerRequest)} ms/req`;
  return (
    `  [${workload} ${round}/${config.rounds}] ${gateway.padEnd(11)} ${fmt(r.rps).padStart(7)} req/s` +
    `  p50 ${fmt(r.p50)}  p95 ${fmt(r.p95)}  p99 ${fmt(r.p99)} ms${cpu}  others used ${r.othersPercent.toFixed(0)}% of the machine${errors}`
  );
}

async function runWorkload(
  workload: Workload,
  subgraphs: Subgraphs,
  cancelled: () => boolean,
): Promise<{ figures: Record<string, Figures>; rows: TableRows[string]; othersPercent: number[] }> {
  log(`\n▸ ${workload.name}: ${workload.gateways.join(', ')}`);
  const ctx: GatewayContext = { subgraphs, mercadoSubgraphs: workload.group === 'mercado', noFetchSharing: workload.name === 'gateway-overhead' };
  const gateways: RunningGateway[] = [];
  try {
    for (const name of workload.gateways) {
      if (cancelled()) throw new Cancelled();
      gateways.push(await gatewayStarters[name](ctx));
    }
    const clientHeaders = (await workload.clientHeaders?.(gateways)) ?? {};
    const body = JSON.stringify({ query: workload.query });

    // Reference data from the baseline; every gateway's answer is compared with it.
    const reference = new Map<GatewayName, string>();
    for (const gateway of gateways) {
      const { status, text, body: parsed } = await post(gateway.url, workload.query, { ...clientHeaders, ...(await gateway.roundHeaders()) });
      const data = (parsed as { data?: unknown; errors?: unknown })?.data;
      if (status !== 200 || (parsed as { errors?: unknown })?.errors || data == null) {
        notes.push(`${workload.name}/${gateway.name}: first response was HTTP ${status}: ${text.slice(0, 300)}`);
      }
      reference.set(gateway.name, JSON.stringify(data));
    }
    const expectedData = reference.get('apollo');
    const sizes = `${(Buffer.byteLength(expectedData ?? '') / 1024).toFixed(1)} KB of data`;
    const differing = [...reference].filter(([, d]) => d !== expectedData).map(([n]) => n);
    log(`  response: ${sizes}; ${differing.length ? `DATA DIFFERS from apollo for ${differing.join(', ')}` : 'data identical across gateways'}`);
    if (differing.length) notes.push(`${workload.name}: data differs from apollo for ${differing.join(', ')}`);

    if (config.prime > 0) {
      log(`  priming each gateway with ${config.prime} s of unmeasured load`);
      for (const gateway of gateways) {
        if (cancelled()) throw new Cancelled();
        const headers = { ...clientHeaders, ...(await gateway.roundHeaders()) };
        await runLoad({ url: gateway.url, body, headers }, { connections: config.connections, warmupSec: 0, durationSec: config.prime });
      }
    }

    const rounds = new Map<GatewayName, Round[]>(gateways.map((g) => [g.name, []]));
    const benchPids = [...subgraphs.pids, ...gateways.flatMap((g) => (g.pid === null ? [] : [g.pid]))];
    for (let round = 0; round < config.rounds; round++) {
      // Rotate the order so that no gateway always runs first (or right after the slowest).
      const order = gateways.map((_, i) => gateways[(i + round) % gateways.length]!);
      for (const gateway of order) {
        if (cancelled()) throw new Cancelled();
        const target = {
          url: gateway.url,
          body,
          headers: { ...clientHeaders, ...(await gateway.roundHeaders()) },
          ...(expectedData !== undefined && { expectedData }),
        };
        let meter: ReturnType<typeof startCpuMeter> | undefined;
        const load = await runLoad(target, {
          connections: config.connections,
          warmupSec: config.warmup,
          durationSec: config.duration,
          onMeasureStart: () => (meter = startCpuMeter(gateway.pid, benchPids)),
        });
        if (cancelled()) throw new Cancelled();
        const result = { ...load, ...(meter?.(load.requests) ?? { gatewayCpuMsPerRequest: null, othersPercent: 0 }) };
        rounds.get(gateway.name)!.push(result);
        log(roundLine(workload.name, round + 1, gateway.name, result));
      }
    }

    const figures: Record<string, Figures> = {};
    const rows: TableRows[string] = {};
    for (const gateway of gateways) {
      const rs = rounds.get(gateway.name)!;
      figures[gateway.name] = rounded({
        rps: median(rs.map((r) => r.rps)),
        p50: median(rs.map((r) => r.p50)),
        p95: median(rs.map((r) => r.p95)),
        p99: median(rs.map((r) => r.p99)),
        errors: rs.reduce((sum, r) => sum + r.errors, 0),
        rssMB: gateway.peakRssMB(),
      });
      const cpu = rs.flatMap((r) => (r.gatewayCpuMsPerRequest === null ? [] : [r.gatewayCpuMsPerRequest]));
      rows[gateway.name] = { ...figures[gateway.name]!, cpuMsPerRequest: cpu.length ? median(cpu) : null };
      if (rs.length > 1) {
        const rps = rs.map((r) => r.rps);
        log(`  ${gateway.name.padEnd(11)} median ${fmt(figures[gateway.name]!.rps)} req/s (rounds ${rps.map(fmt).join(', ')})`);
      }
    }
    return { figures, rows, othersPercent: [...rounds.values()].flat().map((r) => r.othersPercent) };
  } finally {
    for (const gateway of gateways.reverse()) await gateway.stop();
  }
}

class Cancelled extends Error {
  constructor() {
    super('cancelled');
  }
}

/** The benchmarks `npm run bench` runs after the gateways' (each also `npm run bench:<name>`). */
const otherBenchmarks = ['events', 'saga', 'live'] as const;

/**
 * The event, saga and live-graph benchmarks, each in its own process (they start their own databases,
 * queues and workers), after the gateways so that nothing else runs beside them. They write
 * bench/results/events.json, saga.json and live.json, which latest.json then includes.
 */
function runOtherBenchmarks(): void {
  for (const name of otherBenchmarks) {
    log(`\nnpm run bench:${name}${quick ? ' -- --quick' : ''}\n`);
    const run = spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(new URL(`./${name}/run.ts`, import.meta.url)), ...(quick ? ['--quick'] : [])], {
      stdio: 'inherit',
      cwd: repoRoot,
    });
    if (run.status !== 0) notes.push(`bench:${name} failed (exit ${run.status ?? run.signal}); latest.json keeps its previous results, if any`);
  }
}

function mergeOtherBenchmarks(all: Record<string, unknown>) {
  for (const name of otherBenchmarks) {
    const file = join(resultsDir, `${name}.json`);
    if (!existsSync(file)) continue;
    try {
      all[name] = JSON.parse(readFileSync(file, 'utf8'));
    } catch (error) {
      notes.push(`could not read ${file}: ${(error as Error).message}`);
    }
  }
}

async function main() {
  const wanted = config.gateways?.split(',');
  const selected = (config.workloads ? workloads.filter((w) => config.workloads!.split(',').includes(w.name)) : workloads).map(
    (w) => ({ ...w, gateways: w.gateways.filter((g) => !wanted || g === 'apollo' || wanted.includes(g)) }),
  );
  if (selected.length === 0) throw new Error(`no workload matches "${config.workloads}" (have ${workloads.map((w) => w.name).join(', ')})`);
  await compileGateways();
  const m = machine();
  log(`Mercado gateway bench: ${m.cpus} x ${m.model}, ${m.memGB} GB, Node ${m.node}, load average ${loadavg()[0]!.toFixed(1)}`);
  log(
    `${config.connections} connections, ${config.warmup} s warm-up + ${config.duration} s measured, ` +
      `${config.rounds} alternating round(s) per gateway after ${config.prime} s of priming; ` +
      `figures are medians over rounds${quick ? ' (--quick)' : ''}`,
  );

  let cancelled = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (cancelled) {
      killAll();
      process.exit(130);
    }
    cancelled = true;
    log(`\n${signal}: stopping the load, the gateways and the subgraphs (again to kill at once)`);
    stopLoad();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const results: Results = {};
  const rows: TableRows = {};
  const othersPercent: number[] = [];
  try {
    for (const group of ['public', 'mercado'] as const) {
      const inGroup = selected.filter((w) => w.group === group);
      if (inGroup.length === 0) continue;
      log(`\n${group === 'public' ? 'Public benchmark subgraphs' : "Mercado's subgraphs"}`);
      const subgraphs = await (group === 'public' ? startPublicSubgraphs() : startMercadoSubgraphs());
      try {
        for (const workload of inGroup) {
          if (cancelled) throw new Cancelled();
          const outcome = await runWorkload(workload, subgraphs, () => cancelled);
          results[workload.name] = outcome.figures;
          rows[workload.name] = outcome.rows;
          othersPercent.push(...outcome.othersPercent);
        }
      } finally {
        await subgraphs.stop();
      }
    }
    otlpSink?.close();
  } catch (error) {
    otlpSink?.close();
    await stopAll();
    if (selected.some((w) => w.group === 'mercado')) await cleanUpMercadoStack();
    if (error instanceof Cancelled || cancelled) {
      log('cancelled; every child process stopped and the bench databases dropped');
      process.exit(130);
    }
    throw error;
  }

  if (selected.some((w) => w.group === 'mercado')) {
    notes.push(
      "Mercado's subgraphs answer only requests carrying the gateway's signed identity header (x-mercado-context), " +
        'so Hive Gateway does not run there; the apollo baseline signs it too (willSendRequest) and verifies the JWT like Mercado.',
    );
  }
  if (results['public-benchmark']?.['hive-dedupe']) {
    notes.push(
      'hive-dedupe is Hive Gateway as the public benchmark configures it (--jit, inbound in-flight request de-duplication): ' +
        'every connection sends the same query, so it measures de-duplication more than execution; not part of the headline.',
    );
  }
  notes.push('hive rows run with NODE_ENV=production as in the public benchmark; mercado with NODE_ENV=development, LOG_LEVEL=warn.');
  const busy = othersPercent.length ? median(othersPercent) : 0;
  if (busy >= 10) {
    notes.push(
      `other processes used a median ${busy.toFixed(0)}% of the machine during the measured rounds: absolute figures are ` +
        'depressed by that much CPU; ratios come from alternating rounds under similar noise, and CPU ms/req moves least.',
    );
  }

  log(
    '\nResults (median over rounds; "vs" = ratio to apollo in this run; RSS = peak resident memory of the gateway\n' +
      "(all its processes); CPU = the gateway's CPU time per request, all its processes)\n",
  );
  log(formatTable(rows));
  log('');
  for (const note of notes) log(`note: ${note}`);

  // A run of the whole bench also runs the event and saga benchmarks; a run of chosen
  // workloads or gateways (or --gateways-only) does not.
  if (!config.workloads && !config.gateways && !config.gatewaysOnly) runOtherBenchmarks();

  mkdirSync(resultsDir, { recursive: true });
  const all: Record<string, unknown> = { ...results };
  mergeOtherBenchmarks(all);
  writeFileSync(join(resultsDir, 'latest.json'), JSON.stringify({ machine: m, workloads: all }, null, 2) + '\n');
  writeFileSync(join(resultsDir, 'latest.svg'), formatSvg(results, `Gateway bench, ${m.date.slice(0, 10)}, ${m.cpus} CPUs, Node ${m.node}`));
  log(`\nwrote bench/results/latest.json and bench/results/latest.svg`);
  if (config.cpuProf) log(`CPU profile(s) of Mercado's gateway in bench/results/profiles/`);
}

main().catch(async (error) => {
  console.error(`\nbench failed: ${error instanceof Error ? error.message : String(error)}`);
  await stopAll();
  process.exit(1);
});
