/**
 * `npm run bench:saga:faults`: the order saga's guarantees at bench:saga's throughput, with its
 * processes killed at random moments. The system runs in its production shape (every subgraph
 * and the gateway its own process, production's lock and stall settings), on stock and credit
 * that cover only part of what is ordered, so that sagas confirm, reject for stock, reject for
 * payment and time out, all at once:
 *
 *   1. orders are placed through the gateway in an open loop at `--rate` per second (default
 *      100, the issue's target) for `--seconds`;
 *   2. meanwhile, every `--kill-every` seconds on average, one of the saga's processes (orders,
 *      inventory or payments, at random) is SIGKILLed, whatever it is doing (the saga jobs
 *      active on its queue are counted), and a new one is started in its place, as Kubernetes
 *      would; the jobs it held come back after the saga workers' lock (5 s, sagaWorkerLocks);
 *      with `--wipe-redis-at S`, every Redis key of the stack is also deleted once, S seconds in
 *      (at once, as a Redis restarted without its data; `--wipe-in-batches`: as evictions would);
 *   3. once every saga has ended, the three databases are checked against each other
 *      (@mercado/e2e's SagaLedgers, the crash and concurrency tests' invariants): no unit sold
 *      twice or that was not there, nothing left reserved or held, each confirmed order's stock
 *      committed and its one payment captured for its total, each rejected order compensated;
 *      and every read model must come to equal its sources (`npm run events -- verify`): the
 *      killed processes' outbox relays lost no event on the way.
 *
 * Exits 1 if any invariant fails, a saga does not end within `--drain-seconds`, a read model
 * stays different for 60 s, or no process was killed. Writes bench/results/saga-faults.json.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { databaseUrlOf, dropStack, loadServices, verifyReadModels, type DeployableProcess, type RunningSystem } from '@mercado/bring-up';
import { SagaLedgers } from '@mercado/e2e/saga-invariants';
import { commandQueue, deleteSagaKeys, replyQueue } from '@mercado/saga';
import { stackFromEnvironment, type Stack } from '@mercado/system';
import { fmt, machine, round1, sleep, table, writeResults } from '../events/measure.ts';
import { call, prepareCustomersAndStock, randomLines, sagaStates, waitForProductReplica, type Auth } from './orders.ts';
import { startBenchSystem } from './system.ts';

process.env.APOLLO_TELEMETRY_DISABLED = '1';

const { values: args } = parseArgs({
  options: {
    rate: { type: 'string', default: '100' },
    seconds: { type: 'string', default: '40' },
    'kill-every': { type: 'string', default: '4' },
    units: { type: 'string', default: '500' },
    products: { type: 'string', default: '10' },
    customers: { type: 'string', default: '64' },
    'drain-seconds': { type: 'string', default: '300' },
    // Seconds into the load: delete every Redis key of the stack once, as a Redis that lost its
    // data would (the saga queues' jobs, rate-limit counts, ended sessions).
    'wipe-redis-at': { type: 'string' },
    // ...in batches of 1,000 instead, interleaved with the workers, as evictions would: jobs
    // whose hash goes while their id is being moved are left with no data.
    'wipe-in-batches': { type: 'boolean', default: false },
  },
});
const settings = {
  rate: Number(args.rate),
  seconds: Number(args.seconds),
  killEverySeconds: Number(args['kill-every']),
  unitsPerProduct: Number(args.units),
  products: Number(args.products),
  customers: Number(args.customers),
  // One customer in four may spend 300 EUR in all (an order is up to two units of 5-100 EUR):
  // their later orders are declined after their stock was reserved, which must be released.
  limitedCreditCents: 30_000,
  drainSeconds: Number(args['drain-seconds']),
  wipeRedisAtSeconds: args['wipe-redis-at'] === undefined ? null : Number(args['wipe-redis-at']),
  wipeInBatches: args['wipe-in-batches']!,
};
const victims = ['orders', 'inventory', 'payments'] as const;
/** The saga queue whose jobs each victim holds while it works on them. */
const queueOf = { orders: replyQueue('orders'), inventory: commandQueue('inventory'), payments: commandQueue('payments') };
const log = (line: string) => console.log(line);
const count = (n: number) => n.toLocaleString('en-US');

interface Kill {
  at: number;
  name: string;
  /** Saga jobs active on its queue when it was killed: its own, and any a killed predecessor left for the stall check. */
  heldJobs: number;
  /** Until its replacement was ready. */
  downMs: number;
}

/** Kills one of the saga's processes at random moments until `stopped()`, starting a new one each time. */
async function killAtRandom(system: RunningSystem, redis: Redis, prefix: string, started: number, stopped: () => boolean, kills: Kill[]) {
  const current = new Map<string, DeployableProcess>(victims.map((name) => [name, system.services.find((p) => p.name === name)!]));
  for (;;) {
    // The next kill, or the end of the load, whichever comes first.
    const next = Date.now() + settings.killEverySeconds * 1000 * (0.5 + Math.random());
    while (!stopped() && Date.now() < next) await sleep(Math.min(200, next - Date.now()));
    if (stopped()) return;
    const name = victims[Math.floor(Math.random() * victims.length)]!;
    const heldJobs = await redis.llen(`${prefix}:${queueOf[name]}:active`);
    const at = Date.now();
    await current.get(name)!.kill();
    current.set(name, await system.start(name, 0));
    const kill = { at: (at - started) / 1000, name, heldJobs, downMs: Date.now() - at };
    kills.push(kill);
    log(`    ${kill.at.toFixed(1)} s: killed ${name} with ${heldJobs} saga jobs active on its queue; a new one was ready ${(kill.downMs / 1000).toFixed(1)} s later`);
  }
}

/**
 * Every key of the stack gone at one instant, as after a Redis restart that kept no data: one
 * script, which nothing can interleave with. (Deleting them in batches, as cleanups do, is another
 * fault: a worker that moves a job whose hash was just deleted leaves a job with no data behind.)
 */
async function loseRedisData(redis: Redis, prefix: string): Promise<number> {
  const script = `local keys = redis.call('KEYS', ARGV[1])
    for i = 1, #keys, 1000 do redis.call('DEL', unpack(keys, i, math.min(i + 999, #keys))) end
    return #keys`;
  return Number(await redis.eval(script, 0, `${prefix}:*`));
}

async function main() {
  const m = machine();
  log(`Mercado saga fault run: ${m.cpus} x ${m.model}, Node ${m.node}, load average ${m.loadAverage}\n`);
  const base = stackFromEnvironment();
  const stack: Stack = { ...base, name: `benchfaults${randomBytes(3).toString('hex')}`, portOffset: Number(process.env.PORT_OFFSET ?? 1400) };
  let system: RunningSystem | undefined;
  let ledgers: SagaLedgers | undefined;
  const redis = new Redis(stack.redisUrl, { maxRetriesPerRequest: null });
  const cleanup = async () => {
    await ledgers?.close();
    await system?.stop();
    redis.disconnect();
    await dropStack(stack);
  };
  process.once('SIGINT', () => {
    log('interrupted: cleaning up');
    void cleanup().finally(() => process.exit(130));
  });
  try {
    log(`1/3 starting the system (stack ${stack.name}): every subgraph and the gateway in its own process`);
    // The gateway logs each request it could not pass to a killed orders: counted below instead.
    let refusedConnections = 0;
    system = await startBenchSystem({
      stack,
      log,
      onErrorLine: (label, line) => {
        if (label === 'gateway' && line.includes('ECONNREFUSED')) refusedConnections++;
        else log(`    [${label}] ${line.slice(0, 300)}`);
      },
    });
    const ordersDb = databaseUrlOf(stack, 'orders');
    const gatewayUrl = system.gateways[0]!.url;
    await waitForProductReplica(ordersDb);
    const { customers, productIds } = await prepareCustomersAndStock(gatewayUrl, settings.customers, settings.products, {
      units: settings.unitsPerProduct,
      creditCents: (i) => (i % 4 === 3 ? settings.limitedCreditCents : 1_000_000_000),
    });
    ledgers = new SagaLedgers({ databaseUrls: Object.fromEntries(victims.map((name) => [name, databaseUrlOf(stack, name)])) });
    const before = await ledgers.snapshot();
    const orderedUnits = settings.rate * settings.seconds * 2;
    log(`    ${customers.length} customers (a quarter with ${settings.limitedCreditCents / 100} EUR of credit), ${productIds.length} products with ${settings.unitsPerProduct} more units each (about ${fmt(orderedUnits)} units will be ordered)\n`);

    log(`2/3 ${fmt(settings.rate)} orders/s for ${settings.seconds} s through the gateway; one of ${victims.join(', ')} killed every ~${settings.killEverySeconds} s`);
    const started = Date.now();
    let loading = true;
    const kills: Kill[] = [];
    const killer = killAtRandom(system, redis, stack.name, started, () => !loading, kills);
    const { wipeRedisAtSeconds } = settings;
    let wipedKeys: number | null = null;
    const wipe =
      wipeRedisAtSeconds === null
        ? undefined
        : sleep(wipeRedisAtSeconds * 1000).then(async () => {
            wipedKeys = settings.wipeInBatches ? await deleteSagaKeys(stack.redisUrl, stack.name) : await loseRedisData(redis, stack.name);
            log(`    ${wipeRedisAtSeconds.toFixed(1)} s: deleted every Redis key of the stack (${count(wipedKeys)}) ${settings.wipeInBatches ? 'in batches, as evictions would' : 'at once, as a Redis that lost its data'}`);
          });
    const refused = new Map<string, number>();
    let accepted = 0;
    const inFlight: Promise<void>[] = [];
    for (let n = 0; Date.now() - started < settings.seconds * 1000; n++) {
      const due = started + (n * 1000) / settings.rate;
      if (due > Date.now()) await sleep(due - Date.now());
      inFlight.push(
        placeOrder(gatewayUrl, customers[n % customers.length]!, productIds).then(
          () => void accepted++,
          // A request that reached orders just before it was killed may still have placed its
          // order: the invariants below read what the databases hold, not what clients were told.
          (err: Error) => {
            const reason = err.message.replace(/[0-9a-f-]{36}/g, '<id>').slice(0, 120);
            refused.set(reason, (refused.get(reason) ?? 0) + 1);
          },
        ),
      );
    }
    const loadSeconds = (Date.now() - started) / 1000;
    // What the system got through while it was being killed: the sagas that ended in the window.
    const endedInLoad = Object.entries(await sagaStates(ordersDb)).reduce((sum, [state, n]) => sum + (state === 'COMPLETED' || state === 'COMPENSATED' ? n : 0), 0);
    await Promise.all(inFlight);
    loading = false;
    await killer;
    await wipe;
    const refusedCount = [...refused.values()].reduce((a, b) => a + b, 0);
    log(`    ${count(accepted)} orders accepted, ${count(refusedCount)} requests refused (the gateway logged ${count(refusedConnections)} refused connections to orders), ${kills.length} processes killed\n`);

    log(`3/3 every saga ends (at most ${settings.drainSeconds} s), then the books are checked`);
    const drainStart = Date.now();
    let drained = true;
    try {
      await ledgers.untilSagasFinished(settings.drainSeconds * 1000);
    } catch (err) {
      drained = false;
      log(`    ${(err as Error).message}`);
    }
    const drainSeconds = (Date.now() - drainStart) / 1000;
    const violations = await ledgers.violations(before);
    const orders = await ledgers.sagaOrders();
    const readModels = await verifyReadModels(stack, await loadServices(), { timeoutMs: 60_000, intervalMs: 1000 });
    const differing = readModels.filter((r) => !r.equal);
    const outcomes: Record<string, number> = {};
    for (const o of orders) {
      const key = o.status === 'REJECTED' ? `REJECTED ${o.rejectionReason ?? ''}`.trim() : o.status;
      outcomes[key] = (outcomes[key] ?? 0) + 1;
    }

    log(
      table([
        ['saga fault run (production shape)', 'figure'],
        ['orders placed (in orders database)', count(orders.length)],
        ['  at a rate of (set)', `${fmt(settings.rate)}/s for ${fmt(loadSeconds)} s`],
        ...Object.entries(outcomes)
          .sort()
          .map(([outcome, n]) => [`  ${outcome}`, count(n)]),
        ['placeOrder requests refused (e.g. orders restarting)', count(refusedCount)],
        ['processes killed', `${kills.length} (${victims.map((v) => `${v} ${kills.filter((k) => k.name === v).length}`).join(', ')})`],
        ['  saga jobs active on their queues when killed', count(kills.reduce((a, k) => a + k.heldJobs, 0))],
        ['  until the replacement was ready, median', `${fmt(kills.map((k) => k.downMs).sort((a, b) => a - b)[Math.floor(kills.length / 2)] ?? NaN)} ms`],
        ...(wipedKeys === null ? [] : [['Redis keys deleted mid-run', `${count(wipedKeys)} at ${wipeRedisAtSeconds} s${settings.wipeInBatches ? ', in batches' : ', at once'}`]]),
        ['every saga ended', drained ? `yes, ${fmt(drainSeconds)} s after the last order` : 'NO'],
        ['sagas ended during the load, per second', fmt(endedInLoad / loadSeconds)],
        ['invariants violated', count(violations.length)],
        ['read models equal to their sources', readModels.map((r) => `${r.consumer} ${r.equal ? 'yes' : 'NO'}`).join(', ')],
      ]),
    );
    for (const [reason, count] of refused) log(`    refused ${count}x: ${reason}`);
    for (const v of violations.slice(0, 20)) log(`    VIOLATION ${v}`);
    for (const r of differing) log(`    READ MODEL ${r.consumer} differs: ${JSON.stringify({ missing: r.missing.slice(0, 5), behind: r.behind.slice(0, 5), different: r.different.slice(0, 5), extra: r.extra.slice(0, 5) })}`);

    const results = {
      shape: 'production: one process per subgraph and the gateway; saga processes SIGKILLed at random and replaced',
      orders: orders.length,
      outcomes,
      refused: Object.fromEntries(refused),
      kills,
      wipedRedisKeys: wipedKeys,
      drained,
      drainSeconds: round1(drainSeconds),
      sagasEndedDuringLoadPerSec: round1(endedInLoad / loadSeconds),
      violations,
      readModels: readModels.map(({ consumer, compared, equal, missing, behind, different, extra }) => ({ consumer, compared, equal, missing: missing.length, behind: behind.length, different: different.length, extra: extra.length })),
      settings,
      machine: m,
    };
    log(`\nwrote ${writeResults('saga-faults', results)}`);
    if (violations.length || differing.length || !drained || kills.length === 0) {
      throw new Error(`fault run failed: ${violations.length} violations, ${differing.length} read models differ, drained ${drained}, ${kills.length} kills`);
    }
  } finally {
    await cleanup();
  }
}

/** One order of one or two products, placed without waiting for its outcome. */
async function placeOrder(gatewayUrl: string, auth: Auth, productIds: string[]): Promise<void> {
  await call(gatewayUrl, 'mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { id } }', { input: { lines: randomLines(productIds), idempotencyKey: `faults-${randomUUID()}` } }, auth);
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
