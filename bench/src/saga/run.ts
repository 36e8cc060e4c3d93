/**
 * `npm run bench:saga [-- --quick]`: completed order sagas per second and the time from
 * placeOrder to CONFIRMED, through the real gateway of the whole system in this process, next
 * to raw BullMQ job throughput on the same Redis in the same run (the ceiling).
 *
 *   1. raw: no-op jobs, one worker at concurrency 50;
 *   2. sagas: N customers each place an order through the gateway, wait for its saga to
 *      finish, and place the next (closed loop); warm-up, then a measured window.
 *
 * A saga is 4 commands (reserve, authorize, commit, capture) and 4 replies, plus 2 deadlines
 * that fire later as no-ops: the ratio to raw is given per saga and per command/reply job.
 * Prints a table and writes bench/results/saga.json (merged into latest.json by the gateway bench).
 * Options: --quick, --concurrency N, --products N.
 */
import { parseArgs } from 'node:util';
import { cpuSummary, describeCpu, fmt, machine, percentiles, round1, sleep, startCpuMeter, table, writeResults } from '../events/measure.ts';
import { measureRawJobs } from './raw.ts';

// Offline, @apollo/gateway's telemetry only costs time and noise.
process.env.APOLLO_TELEMETRY_DISABLED = '1';

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    concurrency: { type: 'string', default: '16' },
    products: { type: 'string', default: '10' },
  },
});
const quick = args.quick!;
const settings = {
  concurrency: Number(args.concurrency),
  products: Number(args.products),
  rawJobs: quick ? 10_000 : 50_000,
  rawConcurrency: 50,
  warmupSeconds: quick ? 2 : 5,
  measuredSeconds: quick ? 10 : 60,
};
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const log = (line: string) => console.log(line);

async function main() {
  const m = machine();
  log(`Mercado saga bench: ${m.cpus} x ${m.model}, Node ${m.node}, load average ${m.loadAverage}${quick ? ' (--quick)' : ''}\n`);

  // 1. The ceiling.
  log(`1/2 raw BullMQ: ${fmt(settings.rawJobs)} no-op jobs, one worker at concurrency ${settings.rawConcurrency}`);
  const rawCpu = startCpuMeter();
  const raw = await measureRawJobs({
    redisUrl,
    jobs: settings.rawJobs,
    concurrency: settings.rawConcurrency,
    onProgress: (done) => log(`    ${fmt(done)} done`),
  });
  const rawCpuUse = rawCpu();
  log(`    ${fmt(raw.jobsPerSec)} jobs/s (${fmt(raw.jobs)} in ${raw.seconds.toFixed(1)} s)`);
  log(`    ${describeCpu(rawCpuUse, raw.jobs, 'job')}\n`);

  // 2. Sagas through the gateway.
  log('2/2 order sagas through the gateway: starting every service in this process...');
  const { startInProcessStack } = await import('@mercado/e2e');
  const { placeAndWait, prepareCustomersAndStock, sagaJobCounts, SagaWatcher, waitForProductReplica } = await import('./orders.ts');
  const startedAt = performance.now();
  const stack = await startInProcessStack();
  let watcher: InstanceType<typeof SagaWatcher> | undefined;
  process.once('SIGINT', () => {
    log('interrupted: cleaning up');
    void Promise.allSettled([watcher?.close(), stack.close()]).finally(() => process.exit(130));
  });
  try {
    await waitForProductReplica(stack);
    const { customers, productIds } = await prepareCustomersAndStock(stack, settings.concurrency, settings.products);
    log(
      `    ready in ${((performance.now() - startedAt) / 1000).toFixed(1)} s: ${customers.length} customers with 10,000,000.00 of credit, ` +
        `${productIds.length} products with 100,000 more units each`,
    );
    log(
      `    ${settings.concurrency} customers in a closed loop: at least ${settings.warmupSeconds} s and one saga each of warm-up, ` +
        `${settings.measuredSeconds} s measured`,
    );
    watcher = new SagaWatcher(stack.databaseUrls.orders!);

    const sagas: Array<Awaited<ReturnType<typeof placeAndWait>>> = [];
    const errors: string[] = [];
    let stop = false;
    const clients = customers.map(async (auth) => {
      while (!stop) {
        try {
          sagas.push(await placeAndWait(stack, watcher!, auth, productIds));
        } catch (err) {
          errors.push((err as Error).message);
          await sleep(100);
        }
      }
    });

    const runStart = Date.now();
    // The window opens once the warm-up time is over and every customer has finished a saga
    // (first requests plan queries, open connections and compile code: not what is measured).
    let measureStart = Infinity;
    let measureEnd = Infinity;
    const inWindow = (t: number) => t >= measureStart && t < measureEnd;
    let lastCount = 0;
    let lastAt = runStart;
    const ticker = setInterval(() => {
      const now = Date.now();
      const done = sagas.length;
      const confirmMs = sagas.filter((s) => inWindow(s.placedAt) && s.confirmedAt).map((s) => s.confirmedAt! - s.placedAt);
      const lat = percentiles(confirmMs);
      const rejected = sagas.filter((s) => s.state !== 'COMPLETED').length;
      log(
        `    ${String(Math.round((now - runStart) / 1000)).padStart(3)} s  ${fmt(((done - lastCount) * 1000) / (now - lastAt))} sagas/s  ` +
          `finished ${fmt(done)}  in flight ${watcher!.pending}  to CONFIRMED p50 ${fmt(lat.p50)} ms p99 ${fmt(lat.p99)} ms  ` +
          `not completed ${rejected}  errors ${errors.length}${now < measureStart ? '  (warm-up)' : ''}`,
      );
      lastCount = done;
      lastAt = now;
    }, 2000);
    await sleep(settings.warmupSeconds * 1000);
    for (let waited = 0; sagas.length + errors.length < settings.concurrency && waited < 60_000; waited += 100) await sleep(100);
    measureStart = Date.now();
    measureEnd = measureStart + settings.measuredSeconds * 1000;
    stack.resetQueryLog();
    const cpu = startCpuMeter();
    await sleep(measureEnd - Date.now());
    const cpuUse = cpu();
    const statements = Object.fromEntries(Object.entries(stack.queries).map(([service, q]) => [service, q.length]));
    stop = true;
    await Promise.all(clients);
    clearInterval(ticker);
    const jobs = await sagaJobCounts(redisUrl, stack.sagaPrefix);

    // Figures over the measured window: sagas that finished in it; latencies of those placed in it.
    const completedInWindow = sagas.filter((s) => s.state === 'COMPLETED' && inWindow(s.finishedAt)).length;
    const sagasPerSec = completedInWindow / settings.measuredSeconds;
    const placedInWindow = sagas.filter((s) => inWindow(s.placedAt));
    const toConfirmed = percentiles(placedInWindow.filter((s) => s.confirmedAt).map((s) => s.confirmedAt! - s.placedAt));
    const toCompleted = percentiles(placedInWindow.filter((s) => s.state === 'COMPLETED').map((s) => s.finishedAt - s.placedAt));
    const request = percentiles(placedInWindow.map((s) => s.requestMs));
    const notCompleted = sagas.filter((s) => s.state !== 'COMPLETED');
    const reasons = [...new Set(notCompleted.map((s) => `${s.state} ${s.failureReason}`))];
    // Every command gets one reply; whatever else the replies queue completed were deadlines firing (no-ops by then).
    const finished = sagas.length;
    const commandsPerSaga = jobs.commands / finished;
    const firedDeadlinesPerSaga = (jobs.repliesAndDeadlines - jobs.commands) / finished;
    const commandAndReplyJobsPerSaga = (2 * jobs.commands) / finished;
    const perSaga = sagasPerSec / raw.jobsPerSec;
    const perJob = (sagasPerSec * commandAndReplyJobsPerSaga) / raw.jobsPerSec;
    const statementsPerSaga = Object.fromEntries(
      Object.entries(statements)
        .filter(([, n]) => n > 0)
        .map(([service, n]) => [service, round1(n / Math.max(1, completedInWindow))]),
    );
    log(`    ${describeCpu(cpuUse, completedInWindow, 'saga')} (every service, the gateway and the workers run in this one process)`);
    log(`    SQL statements per saga (Prisma's log, BEGIN/COMMIT included): ${Object.entries(statementsPerSaga).map(([s, n]) => `${s} ${n}`).join(', ')}`);
    log(
      `    jobs per saga: ${commandsPerSaga.toFixed(2)} commands + ${commandsPerSaga.toFixed(2)} replies, ` +
        `${firedDeadlinesPerSaga.toFixed(2)} deadlines fired (${fmt(jobs.deadlinesDelayed)} still delayed); ${jobs.failed} failed jobs`,
    );
    if (notCompleted.length) log(`    ${notCompleted.length} sagas did not complete: ${reasons.join(', ')}`);
    if (errors.length) log(`    ${errors.length} placeOrder errors, e.g. ${errors[0]}`);
    log('');

    log(
      table([
        ['saga bench', 'rate', 'vs raw', 'p50', 'p99', ''],
        ['raw BullMQ no-op jobs (ceiling)', `${fmt(raw.jobsPerSec)} jobs/s`, '1.00x', '', '', ''],
        ['order sagas completed', `${fmt(sagasPerSec)} sagas/s`, `${perSaga.toFixed(4)}x`, '', '', 'per saga'],
        ['  as command + reply jobs', `${fmt(sagasPerSec * commandAndReplyJobsPerSaga)} jobs/s`, `${perJob.toFixed(3)}x`, '', '', `${commandAndReplyJobsPerSaga.toFixed(1)} jobs/saga`],
        ['placeOrder -> CONFIRMED', '', '', `${fmt(toConfirmed.p50)} ms`, `${fmt(toConfirmed.p99)} ms`, `max ${fmt(toConfirmed.max)} ms`],
        ['placeOrder -> saga COMPLETED', '', '', `${fmt(toCompleted.p50)} ms`, `${fmt(toCompleted.p99)} ms`, `max ${fmt(toCompleted.max)} ms`],
        ['placeOrder request itself', '', '', `${fmt(request.p50)} ms`, `${fmt(request.p99)} ms`, `max ${fmt(request.max)} ms`],
      ]),
    );
    log(`\n${settings.concurrency} concurrent customers; ${fmt(completedInWindow)} sagas completed in the ${settings.measuredSeconds} s window`);

    const results = {
      raw: { jobsPerSec: round1(raw.jobsPerSec), jobs: raw.jobs, concurrency: settings.rawConcurrency, cpu: cpuSummary(rawCpuUse, raw.jobs) },
      saga: {
        sagasPerSec: round1(sagasPerSec),
        p50Ms: toConfirmed.p50,
        p99Ms: toConfirmed.p99,
        maxMs: toConfirmed.max,
        ratioToRaw: { perSaga: Math.round(perSaga * 100_000) / 100_000, perJob: Math.round(perJob * 10_000) / 10_000 },
        jobsPerSaga: {
          commands: round1(commandsPerSaga),
          replies: round1(commandsPerSaga),
          deadlinesFired: round1(firedDeadlinesPerSaga),
          commandAndReplyJobs: round1(commandAndReplyJobsPerSaga),
        },
        toCompleted: { p50Ms: toCompleted.p50, p99Ms: toCompleted.p99 },
        placeOrderRequest: { p50Ms: request.p50, p99Ms: request.p99 },
        completedInWindow,
        notCompleted: notCompleted.length,
        errors: errors.length,
        concurrency: settings.concurrency,
        cpu: cpuSummary(cpuUse, completedInWindow),
        sqlStatementsPerSaga: statementsPerSaga,
      },
      settings: { ...settings, quick },
      machine: m,
    };
    log(`\nwrote ${writeResults('saga', results)}`);
  } finally {
    await watcher?.close();
    await stack.close();
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
