/**
 * `npm run bench:saga [-- --quick]`: order sagas in the production shape (each subgraph its own
 * compiled process, and the gateway, started by @mercado/bring-up's startSystem on databases,
 * queues and keys of the bench's own), next to raw BullMQ on the same Redis in the same run.
 *
 *   1. raw: no-op jobs, one worker at concurrency 50 (the ceiling);
 *   2. saturation: N customers in a closed loop, each placing an order through the gateway and
 *      placing the next once it knows the order is CONFIRMED; completed sagas per second over
 *      the measured window, CPU per saga of every process (and of PostgreSQL's backends for the
 *      stack, Redis, RabbitMQ), SQL statements per saga per service;
 *   3. half that rate, paced (open loop): placeOrder -> CONFIRMED as a client learns it: told by
 *      the event (orders.OrderConfirmed, as a subscription would be), it sends one query through
 *      the gateway; the latency ends when that answer says CONFIRMED.
 *   4. drain: every saga must have ended COMPLETED (none rejected, none left running).
 *
 * SQL statements are counted on the wire by a pass-through proxy in front of PostgreSQL (see
 * sqlCounter.ts); `--no-sql-count` connects the services straight to PostgreSQL instead, which is
 * the run for latency (the proxy is one more hop on every statement, on the same two cores).
 * `--cpu-prof DIR` profiles every process with V8's sampling profiler (cpuProfile.cjs; DIR/<name>-<pid>.cpuprofile
 * written at exit, as `node --cpu-prof` would).
 * Prints a table and writes bench/results/saga.json (merged into latest.json by the gateway bench).
 * Options: --quick, --concurrency N, --products N, --seconds N, --subgraph-flags '<v8 flags>' (instead of
 * runtime.ts's, '' for none), --node <binary> (every process, e.g. Node 24 as in the image),
 * --rate N (the paced phase at N orders/s instead of half the saturation).
 */
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { databaseUrlOf, dropStack, type RunningSystem } from '@mercado/bring-up';
import { gateway, runtimeOf, services, stackFromEnvironment, type Stack } from '@mercado/system';
import { cpuSummary, fmt, machine, percentiles, round1, sleep, startCpuMeter, table, writeResults, type CpuUse } from '../events/measure.ts';
import { ConfirmationListener, placeAndLearn, prepareCustomersAndStock, sagaJobCounts, sagaStates, waitForProductReplica, type PlacedOrder } from './orders.ts';
import { backendPids, startProcessMeter } from './processCpu.ts';
import { measureRawJobs } from './raw.ts';
import { SqlCounter } from './sqlCounter.ts';
import { startBenchSystem } from './system.ts';

process.env.APOLLO_TELEMETRY_DISABLED = '1';

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    concurrency: { type: 'string', default: '32' },
    products: { type: 'string', default: '10' },
    seconds: { type: 'string' },
    'no-sql-count': { type: 'boolean', default: false },
    'cpu-prof': { type: 'string' },
    // The runtime choice under this load: V8 flags for every subgraph instead of runtime.ts's
    // (space-separated, '' for none), and another Node binary for every process (e.g. 24, the image's).
    'subgraph-flags': { type: 'string' },
    node: { type: 'string' },
    // The paced phase's rate in orders/s instead of half the measured saturation (e.g. 50: half
    // of the issue's 100/s, where the latency target is set).
    rate: { type: 'string' },
  },
});
const subgraphFlags = args['subgraph-flags']?.split(' ').filter(Boolean);
const quick = args.quick!;
const measuredSeconds = Number(args.seconds ?? (quick ? 15 : 30));
const settings = {
  concurrency: Number(args.concurrency),
  products: Number(args.products),
  rawJobs: quick ? 10_000 : 50_000,
  rawConcurrency: 50,
  warmupSeconds: quick ? 5 : 10,
  measuredSeconds,
  pacedSeconds: measuredSeconds,
  sqlCount: !args['no-sql-count'],
};
const log = (line: string) => console.log(line);

/** CPU ms per saga of each named process, rounded. */
const perSaga = (ms: Record<string, number>, sagas: number) =>
  Object.fromEntries(Object.entries(ms).map(([name, v]) => [name, sagas > 0 ? Math.round((100 * v) / sagas) / 100 : null]));

async function main() {
  const m = machine();
  log(`Mercado saga bench: ${m.cpus} x ${m.model}, Node ${m.node}, load average ${m.loadAverage}${quick ? ' (--quick)' : ''}\n`);
  log(`    subgraph flags: ${subgraphFlags ? subgraphFlags.join(' ') || '(none)' : 'runtime.ts (each its own)'}; processes' Node: ${args.node ?? process.execPath}\n`);
  const base = stackFromEnvironment();

  // 1. The ceiling.
  log(`1/4 raw BullMQ: ${fmt(settings.rawJobs)} no-op jobs, one worker at concurrency ${settings.rawConcurrency}`);
  const rawCpu = startCpuMeter();
  const raw = await measureRawJobs({ redisUrl: base.redisUrl, jobs: settings.rawJobs, concurrency: settings.rawConcurrency });
  const rawCpuUse = rawCpu();
  log(`    ${fmt(raw.jobsPerSec)} jobs/s (${fmt(raw.jobs)} in ${raw.seconds.toFixed(1)} s), Redis ${(rawCpuUse.ms.redis / raw.jobs).toFixed(3)} ms/job\n`);

  // 2. The system, each deployable its own process, on a stack of the bench's own.
  const stack: Stack = { ...base, name: `benchsaga${randomBytes(3).toString('hex')}`, portOffset: Number(process.env.PORT_OFFSET ?? 1300) };
  const counter = settings.sqlCount ? new SqlCounter({ host: new URL(stack.postgresUrl).hostname, port: Number(new URL(stack.postgresUrl).port || 5432) }) : undefined;
  let system: RunningSystem | undefined;
  let listener: ConfirmationListener | undefined;
  const cleanup = async () => {
    await listener?.close();
    await system?.stop();
    await counter?.close();
    await dropStack(stack);
  };
  process.once('SIGINT', () => {
    log('interrupted: cleaning up');
    void cleanup().finally(() => process.exit(130));
  });
  try {
    const startedAt = performance.now();
    log(`2/4 starting the system (stack ${stack.name}): every subgraph and the gateway in its own process${counter ? ', SQL counted on the wire' : ''}`);
    let processStack = stack;
    if (counter) {
      const url = new URL(stack.postgresUrl);
      url.hostname = '127.0.0.1';
      url.port = String(await counter.start());
      processStack = { ...stack, postgresUrl: url.toString() };
    }
    const cpuProf = args['cpu-prof'] ? resolve(args['cpu-prof']) : undefined;
    system = await startBenchSystem({
      stack,
      processStack,
      env: cpuProf ? { NODE_OPTIONS: `--require ${fileURLToPath(new URL('./cpuProfile.cjs', import.meta.url))}`, MERCADO_CPU_PROF_DIR: cpuProf } : {},
      ...(subgraphFlags ? { nodeArgs: (name: string) => (name === gateway.name ? runtimeOf(name).nodeFlags : subgraphFlags) } : {}),
      ...(args.node ? { nodeBinary: args.node } : {}),
      log,
    });
    const gatewayUrl = system.gateways[0]!.url;
    const ordersDb = databaseUrlOf(stack, 'orders');
    await waitForProductReplica(ordersDb);
    const { customers, productIds } = await prepareCustomersAndStock(gatewayUrl, Math.max(settings.concurrency, 64), settings.products);
    listener = new ConfirmationListener(stack.amqpUrl, stack.name);
    await listener.start();
    log(`    ready in ${((performance.now() - startedAt) / 1000).toFixed(1)} s: ${customers.length} customers, ${productIds.length} products with 100,000 more units each\n`);

    const processes = new Map<number, string>([...system.services, ...system.gateways].map((p) => [p.child.pid!, p.name]));
    const errors: string[] = [];

    // 3. Saturation: a closed loop of `concurrency` customers.
    log(`3/4 saturation: ${settings.concurrency} customers in a closed loop, ${settings.warmupSeconds} s warm-up, ${settings.measuredSeconds} s measured`);
    let stop = false;
    const closed: PlacedOrder[] = [];
    const clients = customers.slice(0, settings.concurrency).map(async (auth) => {
      while (!stop) {
        try {
          closed.push(await placeAndLearn(gatewayUrl, listener!, auth, productIds));
        } catch (err) {
          errors.push((err as Error).message);
          await sleep(100);
        }
      }
    });
    const ticker = (label: () => string) => {
      let last = 0;
      let at = Date.now();
      return setInterval(() => {
        const now = Date.now();
        log(`    ${label()}  ${fmt(((closed.length - last) * 1000) / (now - at))} confirmed/s  errors ${errors.length}`);
        last = closed.length;
        at = now;
      }, 5000);
    };
    let phase = 'warm-up';
    const tick = ticker(() => phase);
    await sleep(settings.warmupSeconds * 1000);
    phase = 'measured';
    const backends = await backendPids(stack.postgresUrl, stack.name);
    const completedBefore = (await sagaStates(ordersDb)).COMPLETED ?? 0;
    const jobsBefore = await sagaJobCounts(stack.redisUrl, stack.name);
    counter?.reset();
    const t0 = Date.now();
    const machineCpu = startCpuMeter();
    const procCpu = startProcessMeter(processes);
    const pgCpu = startProcessMeter(new Map([...backends].map(([pid]) => [pid, 'postgres (stack backends)'])));
    await sleep(settings.measuredSeconds * 1000);
    const seconds = (Date.now() - t0) / 1000;
    const cpuUse: CpuUse = machineCpu();
    const processMs = procCpu();
    const pgMs = pgCpu();
    const statements = counter?.snapshot() ?? {};
    const completed = ((await sagaStates(ordersDb)).COMPLETED ?? 0) - completedBefore;
    const jobsAfter = await sagaJobCounts(stack.redisUrl, stack.name);
    stop = true;
    await Promise.all(clients);
    clearInterval(tick);
    const sagasPerSec = completed / seconds;
    const closedLatency = percentiles(closed.filter((o) => o.placedAt >= t0 && o.placedAt < t0 + seconds * 1000).map((o) => o.confirmedSeenAt - o.repliedAt));
    log(`    ${fmt(sagasPerSec)} completed sagas/s (${completed} in ${seconds.toFixed(1)} s)\n`);

    // 4. Half that rate, paced.
    const rate = args.rate ? Number(args.rate) : sagasPerSec / 2;
    log(`4/4 at ${args.rate ? 'a set' : 'half that'} rate: ${fmt(rate)} orders/s for ${settings.pacedSeconds} s, placeOrder reply -> CONFIRMED as a client learns it`);
    const paced: PlacedOrder[] = [];
    const inFlight: Promise<void>[] = [];
    const pacedStart = Date.now();
    let n = 0;
    while (Date.now() - pacedStart < settings.pacedSeconds * 1000) {
      const due = pacedStart + (n * 1000) / rate;
      if (due > Date.now()) await sleep(due - Date.now());
      const auth = customers[n % customers.length]!;
      inFlight.push(
        placeAndLearn(gatewayUrl, listener, auth, productIds).then(
          (o) => void paced.push(o),
          (err) => void errors.push((err as Error).message),
        ),
      );
      n++;
    }
    await Promise.all(inFlight);
    const fromReply = percentiles(paced.map((o) => o.confirmedSeenAt - o.repliedAt));
    const fromRequest = percentiles(paced.map((o) => o.confirmedSeenAt - o.placedAt));
    const request = percentiles(paced.map((o) => o.repliedAt - o.placedAt));
    log(`    ${paced.length} orders: reply -> CONFIRMED p50 ${fmt(fromReply.p50)} ms, p99 ${fmt(fromReply.p99)} ms\n`);

    // Drain: every saga ends, and ends well.
    let states: Record<string, number> = {};
    for (let i = 0; i < 600; i++) {
      states = await sagaStates(ordersDb);
      if (!states.RUNNING && !states.COMPENSATING) break;
      await sleep(100);
    }

    const jobsInWindow = {
      commands: jobsAfter.commands - jobsBefore.commands,
      replies: jobsAfter.repliesAndDeadlines - jobsBefore.repliesAndDeadlines,
    };
    const commandAndReplyJobsPerSaga = (jobsInWindow.commands * 2) / Math.max(1, completed);
    const perJob = (sagasPerSec * commandAndReplyJobsPerSaga) / raw.jobsPerSec;
    const cpuPerSaga = perSaga({ ...processMs, ...pgMs, redis: cpuUse.ms.redis, rabbitmq: cpuUse.ms.rabbitmq }, completed);
    const totalCpu = Object.values(cpuPerSaga).reduce<number>((a, b) => a + (b ?? 0), 0);
    const sqlPerSaga = Object.fromEntries(
      Object.entries(statements)
        .filter(([db]) => db.startsWith(`${stack.name}_`))
        .map(([db, count]) => [db.slice(stack.name.length + 1), round1(count / Math.max(1, completed))]),
    );
    const sqlTotal = round1(Object.values(sqlPerSaga).reduce((a, b) => a + b, 0));
    // The machine meter counts the system's own processes among "others": take them out.
    const othersMs = Math.max(0, cpuUse.ms.others - Object.values(processMs).reduce((a, b) => a + b, 0));
    const idle = cpuUse.capacityMs > 0 ? Math.max(0, cpuUse.capacityMs - Object.values(cpuUse.ms).reduce((a, b) => a + b, 0)) / cpuUse.capacityMs : 0;

    log(
      table([
        ['saga bench (production shape)', 'figure', 'vs raw'],
        ['raw BullMQ no-op jobs (ceiling)', `${fmt(raw.jobsPerSec)} jobs/s`, '1.00x'],
        [`completed sagas/s at saturation (${settings.concurrency} customers)`, fmt(sagasPerSec), `${(sagasPerSec / raw.jobsPerSec).toFixed(4)}x per saga`],
        ['  as command + reply jobs', `${fmt(sagasPerSec * commandAndReplyJobsPerSaga)} jobs/s (${commandAndReplyJobsPerSaga.toFixed(1)}/saga)`, `${perJob.toFixed(3)}x per job`],
        [`placeOrder reply -> CONFIRMED at ${fmt(rate)}/s${args.rate ? ' (set)' : ''}, p50 / p99`, `${fmt(fromReply.p50)} / ${fmt(fromReply.p99)} ms`, ''],
        ['placeOrder sent -> CONFIRMED, p50 / p99', `${fmt(fromRequest.p50)} / ${fmt(fromRequest.p99)} ms`, ''],
        ['placeOrder request, p50 / p99', `${fmt(request.p50)} / ${fmt(request.p99)} ms`, ''],
        ['reply -> CONFIRMED at saturation, p50 / p99', `${fmt(closedLatency.p50)} / ${fmt(closedLatency.p99)} ms`, ''],
        ['CPU ms per saga, total', fmt(totalCpu, 1), ''],
        ...Object.entries(cpuPerSaga).map(([name, ms]) => [`  ${name}`, fmt(ms ?? NaN, 2), '']),
        ['SQL statements per saga, total', counter ? fmt(sqlTotal) : 'not counted', ''],
        ...Object.entries(sqlPerSaga).map(([name, count]) => [`  ${name}`, fmt(count), '']),
        ['machine idle during the window', `${(100 * idle).toFixed(0)}%`, ''],
        ['machine busy with others (not this system, not the bench)', `${((100 * othersMs) / Math.max(1, cpuUse.capacityMs)).toFixed(0)}%`, ''],
        ['bench process (load, proxy), CPU ms per saga', fmt(cpuUse.ms.bench / Math.max(1, completed), 2), ''],
      ]),
    );
    log(`\nsagas at the end: ${JSON.stringify(states)}; errors: ${errors.length}${errors.length ? ` (e.g. ${errors[0]})` : ''}`);
    // The counter is a hop of its own on every statement's way (bench process, same two cores).
    if (counter) log('latencies above went through the SQL-counting proxy: --no-sql-count measures the production path (services straight to PostgreSQL)');

    const results = {
      shape: 'production: one process per subgraph and the gateway',
      raw: { jobsPerSec: round1(raw.jobsPerSec), jobs: raw.jobs, concurrency: settings.rawConcurrency, cpu: cpuSummary(rawCpuUse, raw.jobs) },
      saga: {
        sagasPerSec: round1(sagasPerSec),
        completedInWindow: completed,
        ratioToRaw: { perSaga: Math.round((sagasPerSec / raw.jobsPerSec) * 100_000) / 100_000, perJob: Math.round(perJob * 10_000) / 10_000 },
        commandAndReplyJobsPerSaga: round1(commandAndReplyJobsPerSaga),
        halfRate: { ordersPerSec: round1(rate), rateSet: Boolean(args.rate), orders: paced.length, replyToConfirmed: fromReply, requestToConfirmed: fromRequest, request },
        atSaturation: { replyToConfirmed: closedLatency },
        cpuMsPerSaga: { total: round1(totalCpu), ...cpuPerSaga },
        sqlStatementsPerSaga: counter ? { total: sqlTotal, ...sqlPerSaga } : null,
        machine: { idlePercent: Math.round(100 * idle), othersPercent: Math.round((100 * othersMs) / Math.max(1, cpuUse.capacityMs)), benchMsPerSaga: round1(cpuUse.ms.bench / Math.max(1, completed)) },
        endStates: states,
        errors: errors.length,
      },
      settings: { ...settings, quick, subgraphFlags: subgraphFlags ?? Object.fromEntries(services.map((s) => [s.name, runtimeOf(s.name).nodeFlags.join(' ')])), node: args.node ?? process.execPath },
      machine: m,
    };
    log(`\nwrote ${writeResults('saga', results)}`);
  } finally {
    await cleanup();
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
