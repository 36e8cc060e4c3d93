/**
 * `npm run bench:events [-- --quick]`: integration events per second through outbox, relay,
 * broker and consumer into a read model, next to the raw amqplib rate on the same broker in
 * the same run (the ceiling), and replication lag at half the sustainable rate.
 *
 *   1. raw: publish with confirms to a quorum queue, one consumer acking each message;
 *   2. pipeline flat out: writers commit state changes with their outbox rows, 20 events per
 *      transaction (--events-per-commit), more than the pipeline can take: the rate at which
 *      events land in the read model is the pipeline's capacity, compared with raw (the target);
 *   3. at half that rate, paced: the lag of every event (consumer commit - occurredAt);
 *   4. and 5. the same with one event per commit (an order placed, a price changed): there the
 *      writers' own commits are the limit, which the raw ceiling does not pay for;
 *   --profile: where the time goes, the writers alone with the relay stopped, then relay +
 *      consumer alone on the backlog they left.
 *
 * Prints a table and writes bench/results/events.json (the gateway bench merges it into latest.json).
 * Options: --quick, --profile, --writers N, --batch-size N (relay), --prefetch N (consumer and raw).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { describeStats, EventsPipeline, eventMessageBytes, type Counters } from './pipeline.ts';
import { measureRaw } from './raw.ts';
import { cpuSummary, describeCpu, fmt, machine, percentiles, round1, sleep, startCpuMeter, table } from './measure.ts';

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    profile: { type: 'boolean', default: false },
    writers: { type: 'string', default: '8' },
    'events-per-commit': { type: 'string', default: '20' },
    'batch-size': { type: 'string', default: '500' },
    prefetch: { type: 'string', default: '1000' },
  },
});
const quick = args.quick!;
const settings = {
  writers: Number(args.writers),
  eventsPerCommit: Number(args['events-per-commit']),
  relayBatchSize: Number(args['batch-size']),
  prefetch: Number(args.prefetch),
  rawSeconds: quick ? 3 : 10,
  warmupSeconds: quick ? 1 : 3,
  flatOutSeconds: quick ? 5 : 20,
  pacedSeconds: quick ? 5 : 20,
  profileSeconds: quick ? 3 : 10,
};
const amqpUrl = process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const postgresUrl = process.env.POSTGRES_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
const resultsFile = fileURLToPath(new URL('../../results/events.json', import.meta.url));
const log = (line: string) => console.log(line);
let interrupted = false;

/** Rates per stage between two readings of the counters. */
function rates(a: Counters, b: Counters, seconds: number) {
  return { written: (b.written - a.written) / seconds, published: (b.published - a.published) / seconds, applied: (b.applied - a.applied) / seconds };
}

/**
 * Which stage held the rate back: the one in front of which a backlog grew during the window.
 * Growth under 1% of what went through counts as none (batches in flight).
 */
function bottleneck(from: Counters, to: Counters): string {
  const through = Math.max(1, to.applied - from.applied);
  const outboxGrowth = to.written - to.published - (from.written - from.published);
  const brokerGrowth = to.published - to.applied - (from.published - from.applied);
  if (brokerGrowth > through / 100 && brokerGrowth >= outboxGrowth) return `the consumer (broker backlog grew by ${fmt(brokerGrowth)})`;
  if (outboxGrowth > through / 100) return `the relay (outbox backlog grew by ${fmt(outboxGrowth)})`;
  return 'the writers (no backlog grew: relay and consumer kept up with the commits)';
}

function statsLine(pipeline: EventsPipeline): string {
  const s = describeStats(pipeline.stats);
  return (
    `${s.eventsPerRelayBatch ?? '-'} events per relay batch; ${s.eventsPerConsumerTransaction ?? '-'} events per consumer transaction ` +
    `(max ${s.eventsPerConsumerTransactionMax}; prefetch ${settings.prefetch})`
  );
}

async function raw(messageBytes: number) {
  log(`1/5 raw amqplib, ${settings.rawSeconds} s of publishing`);
  const cpu = startCpuMeter();
  const result = await measureRaw({
    amqpUrl,
    seconds: settings.rawSeconds,
    messageBytes,
    prefetch: settings.prefetch,
    window: 1000,
    onProgress: (consumed, published) => log(`    published ${fmt(published)}, consumed ${fmt(consumed)}`),
  });
  const cpuUse = cpu();
  log(`    ${fmt(result.msgsPerSec)} msg/s (${fmt(result.consumed)} messages in ${result.seconds.toFixed(1)} s)`);
  log(`    ${describeCpu(cpuUse, result.consumed, 'message')}\n`);
  return { msgsPerSec: round1(result.msgsPerSec), messages: result.consumed, messageBytes, cpu: cpuSummary(cpuUse, result.consumed) };
}

async function flatOut(pipeline: EventsPipeline, rawRate: number, eventsPerCommit: number, title: string) {
  log(`${title}: ${settings.warmupSeconds} s warm-up, ${settings.flatOutSeconds} s measured`);
  const t0 = performance.now();
  let stop = false;
  const writing = pipeline.writeFlatOut(() => stop || interrupted, eventsPerCommit);
  let last = pipeline.counters();
  let lastAt = t0;
  const ticker = setInterval(() => {
    const now = performance.now();
    const c = pipeline.counters();
    const r = rates(last, c, (now - lastAt) / 1000);
    log(
      `    ${((now - t0) / 1000).toFixed(0).padStart(3)} s  written ${fmt(r.written)}/s  published ${fmt(r.published)}/s  ` +
        `applied ${fmt(r.applied)}/s  backlog: outbox ${fmt(c.written - c.published)}, broker ${fmt(c.published - c.applied)}`,
    );
    last = c;
    lastAt = now;
  }, 2000);
  await sleep(settings.warmupSeconds * 1000);
  const from = pipeline.counters();
  pipeline.resetStats();
  const cpu = startCpuMeter();
  const fromAt = performance.now();
  await sleep(settings.flatOutSeconds * 1000);
  const to = pipeline.counters();
  const seconds = (performance.now() - fromAt) / 1000;
  const cpuUse = cpu();
  const stats = describeStats(pipeline.stats);
  const statsText = statsLine(pipeline);
  stop = true;
  await writing;
  clearInterval(ticker);
  const stages = rates(from, to, seconds);
  const limitedBy = bottleneck(from, to);
  const backlog = pipeline.counters();
  const drainStart = performance.now();
  if (!(await pipeline.drain(120_000))) throw new Error('the backlog did not drain within 120 s');
  const drainSeconds = (performance.now() - drainStart) / 1000;
  const left = backlog.written - backlog.applied;
  log(
    `    sustainable: ${fmt(stages.applied)} events/s into the read model (writers committed ${fmt(stages.written)}/s, ` +
      `relay published ${fmt(stages.published)}/s); limited by ${limitedBy}`,
  );
  if (left > 0) log(`    a backlog of ${fmt(left)} drained in ${drainSeconds.toFixed(1)} s once the writers stopped`);
  log(`    ${statsText}`);
  log(`    ${describeCpu(cpuUse, to.applied - from.applied, 'event')}\n`);
  return {
    eventsPerCommit,
    eventsPerSec: round1(stages.applied),
    ratioToRaw: Math.round((stages.applied / rawRate) * 1000) / 1000,
    stages: { writtenPerSec: round1(stages.written), publishedPerSec: round1(stages.published), appliedPerSec: round1(stages.applied) },
    limitedBy,
    ...stats,
    cpu: cpuSummary(cpuUse, to.applied - from.applied),
  };
}

async function paced(pipeline: EventsPipeline, rate: number, eventsPerCommit: number, title: string) {
  log(`${title}: ${fmt(rate)} events/s for ${settings.pacedSeconds} s, ${eventsPerCommit} per commit`);
  pipeline.lagSamples = [];
  pipeline.resetStats();
  pipeline.tracing = true;
  const cpu = startCpuMeter();
  const ticker = setInterval(() => {
    const lag = percentiles(pipeline.lagSamples);
    log(`    applied ${fmt(lag.count)}  lag p50 ${fmt(lag.p50)} ms  p99 ${fmt(lag.p99)} ms`);
  }, 2000);
  pipeline.clearTraces();
  const offered = await pipeline.writePaced(rate, settings.pacedSeconds, eventsPerCommit);
  const drained = await pipeline.drain(60_000);
  pipeline.tracing = false;
  clearInterval(ticker);
  const cpuUse = cpu();
  if (!drained) throw new Error('the paced run did not drain within 60 s');
  const lag = percentiles(pipeline.lagSamples);
  const offeredRate = offered.offered / offered.seconds;
  log(`    offered ${fmt(offeredRate)} events/s; lag p50 ${fmt(lag.p50)} ms, p99 ${fmt(lag.p99)} ms, max ${fmt(lag.max)} ms over ${fmt(lag.count)} events`);
  const legs = pipeline.lagBreakdown();
  const legText = (l: typeof legs.p50) =>
    `producer transaction ${fmt(l.write)}, outbox to broker confirm ${fmt(l.relay)}, broker to consumer ${fmt(l.broker)}, consumer transaction ${fmt(l.consume)}`;
  log(`    lag by leg, p50 ms: ${legText(legs.p50)}`);
  log(`    lag by leg, p99 ms: ${legText(legs.p99)}`);
  log(`    ${statsLine(pipeline)}`);
  log(`    ${describeCpu(cpuUse, lag.count, 'event')}`);
  const consistent = await pipeline.replicaMatchesSource();
  log(`    read model ${consistent ? 'equals' : 'DIFFERS FROM'} the source after the run\n`);
  return {
    lag: {
      eventsPerCommit,
      rate: round1(offeredRate),
      p50: lag.p50,
      p99: lag.p99,
      max: lag.max,
      events: lag.count,
      byLeg: { p50: legs.p50, p99: legs.p99 },
      ...describeStats(pipeline.stats),
      cpu: cpuSummary(cpuUse, lag.count),
    },
    consistent,
  };
}

/** The two halves apart: the writers with the relay stopped, then relay + consumer on the backlog. */
async function profile(pipeline: EventsPipeline) {
  log(`profile: where the time goes`);
  await pipeline.stopRelay();
  const before = pipeline.counters();
  const writersCpu = startCpuMeter();
  const writersStart = performance.now();
  await pipeline.writeFlatOut(() => interrupted || performance.now() - writersStart > settings.profileSeconds * 1000, settings.eventsPerCommit);
  const writersSeconds = (performance.now() - writersStart) / 1000;
  const writersCpuUse = writersCpu();
  const written = pipeline.counters().written - before.written;
  log(`    writers alone (relay stopped): ${fmt(written / writersSeconds)} commits/s (state change + outbox row + notify each)`);
  log(`    ${describeCpu(writersCpuUse, written, 'commit')}`);

  pipeline.resetStats();
  const deliveryCpu = startCpuMeter();
  const deliveryStart = performance.now();
  await pipeline.startRelay();
  if (!(await pipeline.drain(120_000))) throw new Error('the profile backlog did not drain within 120 s');
  const deliverySeconds = (performance.now() - deliveryStart) / 1000;
  const deliveryCpuUse = deliveryCpu();
  log(`    relay + broker + consumer alone, on that backlog of ${fmt(written)}: ${fmt(written / deliverySeconds)} events/s`);
  log(`    ${statsLine(pipeline)}`);
  log(`    ${describeCpu(deliveryCpuUse, written, 'event')}\n`);
  return {
    writersAlone: { eventsPerSec: round1(written / writersSeconds), eventsPerCommit: settings.eventsPerCommit, cpu: cpuSummary(writersCpuUse, written) },
    deliveryAlone: { eventsPerSec: round1(written / deliverySeconds), backlog: written, ...describeStats(pipeline.stats), cpu: cpuSummary(deliveryCpuUse, written) },
  };
}

async function main() {
  const m = machine();
  log(`Mercado events bench: ${m.cpus} x ${m.model}, Node ${m.node}, load average ${m.loadAverage}${quick ? ' (--quick)' : ''}`);
  const messageBytes = eventMessageBytes();
  log(
    `messages of ${messageBytes} bytes; ${settings.writers} writers, relay batch ${settings.relayBatchSize}, ` +
      `consumer prefetch ${settings.prefetch}\n`,
  );
  const rawResult = await raw(messageBytes);

  const pipeline = new EventsPipeline({ amqpUrl, postgresUrl, ...settings });
  process.once('SIGINT', () => {
    interrupted = true;
    log('interrupted: cleaning up');
    void pipeline.close().finally(() => process.exit(130));
  });
  try {
    await pipeline.start();
    const capacity = await flatOut(pipeline, rawResult.msgsPerSec, settings.eventsPerCommit, `2/5 pipeline flat out, ${settings.eventsPerCommit} events per commit`);
    const { lag, consistent } = await paced(pipeline, Math.max(1, Math.round(capacity.eventsPerSec / 2)), settings.eventsPerCommit, '3/5 lag at half that rate');
    const single = await flatOut(pipeline, rawResult.msgsPerSec, 1, '4/5 pipeline flat out, one event per commit');
    const singleLag = await paced(pipeline, Math.max(1, Math.round(single.eventsPerSec / 2)), 1, '5/5 lag at half that rate');
    const ratioMet = capacity.ratioToRaw >= 0.5;
    const lagMet = lag.p99 < 100 && singleLag.lag.p99 < 100;
    const profiled = args.profile ? await profile(pipeline) : undefined;

    const lagCells = (l: typeof lag) => [`${fmt(l.p50)} ms`, `${fmt(l.p99)} ms`, `${fmt(l.max)} ms`];
    log(
      table([
        ['events bench', 'rate', 'vs raw', 'lag p50', 'lag p99', 'lag max'],
        ['raw amqplib (ceiling)', `${fmt(rawResult.msgsPerSec)} msg/s`, '1.00x', '', '', ''],
        [`pipeline, ${settings.eventsPerCommit} events/commit`, `${fmt(capacity.eventsPerSec)} ev/s`, `${capacity.ratioToRaw.toFixed(3)}x`, '', '', ''],
        ['  at half rate', `${fmt(lag.rate)} ev/s`, '', ...lagCells(lag)],
        ['pipeline, 1 event/commit', `${fmt(single.eventsPerSec)} ev/s`, `${single.ratioToRaw.toFixed(3)}x`, '', '', ''],
        ['  at half rate', `${fmt(singleLag.lag.rate)} ev/s`, '', ...lagCells(singleLag.lag)],
        ...(profiled
          ? [
              ['  writers alone', `${fmt(profiled.writersAlone.eventsPerSec)} ev/s`, '', '', '', ''],
              ['  relay + consumer alone', `${fmt(profiled.deliveryAlone.eventsPerSec)} ev/s`, `${(profiled.deliveryAlone.eventsPerSec / rawResult.msgsPerSec).toFixed(3)}x`, '', '', ''],
            ]
          : []),
      ]),
    );
    log(
      `\ntargets: pipeline >= 50% of raw: ${ratioMet ? 'met' : 'MISSED'} (${(100 * capacity.ratioToRaw).toFixed(1)}%); ` +
        `p99 lag < 100 ms at half rate: ${lagMet ? 'met' : 'MISSED'} (${fmt(lag.p99)} ms, ${fmt(singleLag.lag.p99)} ms with one event per commit)`,
    );
    log(
      `one event per commit is bound by the writers' own commits (${single.limitedBy.startsWith('the writers') ? 'as in this run' : `this run: ${single.limitedBy}`}), ` +
        `which the raw ceiling does not pay for`,
    );
    const busy = Math.max(rawResult.cpu.othersPercent ?? 0, capacity.cpu.othersPercent ?? 0, lag.cpu.othersPercent ?? 0);
    if (busy > 10) log(`other processes used up to ${busy}% of the machine during the phases: absolute figures are low, compare ratios`);

    const results = {
      raw: rawResult,
      pipeline: capacity,
      lagAtHalfRate: lag,
      oneEventPerCommit: { ...single, lagAtHalfRate: singleLag.lag },
      ...(profiled ? { profile: profiled } : {}),
      targets: { ratioToRawAtLeast: 0.5, ratioMet, p99LagBelowMs: 100, lagMet },
      readModelEqualsSource: consistent && singleLag.consistent,
      settings: { ...settings, quick },
      machine: m,
    };
    mkdirSync(fileURLToPath(new URL('../../results/', import.meta.url)), { recursive: true });
    writeFileSync(resultsFile, JSON.stringify(results, null, 2) + '\n');
    log(`\nwrote ${resultsFile}`);
  } finally {
    await pipeline.close();
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
