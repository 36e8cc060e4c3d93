/**
 * `npm run bench:events [-- --quick]`: integration events per second through outbox, relay,
 * broker and consumer into a read model, next to the raw amqplib rate on the same broker in
 * the same run (the ceiling), and replication lag at half the sustainable rate.
 *
 *   1. raw: publish with confirms to a quorum queue, one consumer acking each message, from memory;
 *   2. the pipeline alone: writers fill the outbox with the relay stopped, then relay, broker
 *      and consumer drain it into the read model with nothing else running. That rate, against
 *      raw, is the target (raw's messages cost nothing to produce; outbox rows do);
 *   3. with the writers: they commit state changes with their outbox rows, 20 events per
 *      transaction (--events-per-commit), as fast as they can while the pipeline runs on the
 *      same two cores: the rate at which events land in the read model;
 *   4. at half that rate, paced: the lag of every event (consumer commit - occurredAt);
 *   5. and 6. the same with one event per commit (an order placed, a price changed): there the
 *      writers' own commits are the limit.
 *
 * Prints a table and writes bench/results/events.json (the gateway bench merges it into latest.json).
 * Options: --quick, --writers N, --events-per-commit N, --batch-size N (relay), --prefetch N (consumer and raw).
 */
import { parseArgs } from 'node:util';
import { describeStats, EventsPipeline, eventMessageBytes, type Counters } from './pipeline.ts';
import { measureRaw } from './raw.ts';
import { cpuSummary, describeCpu, fmt, machine, percentiles, round1, sleep, startCpuMeter, table, writeResults } from './measure.ts';

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
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
  backlogSeconds: quick ? 3 : 10,
};
const amqpUrl = process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const postgresUrl = process.env.POSTGRES_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
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
  log(`1/6 raw amqplib, ${settings.rawSeconds} s of publishing`);
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

/**
 * The pipeline alone, as the raw ceiling runs: the writers fill the outbox with the relay
 * stopped (their own rate is reported too), then relay, broker and consumer carry that backlog
 * into the read model with nothing else running. Events in / drain time is the pipeline's
 * capacity, the figure that compares with raw amqplib (whose messages come from memory).
 */
async function backlog(pipeline: EventsPipeline, rawRate: number) {
  log(`2/6 pipeline alone: ${settings.backlogSeconds} s of writers with the relay stopped, then relay + broker + consumer drain the outbox`);
  await pipeline.stopRelay();
  const before = pipeline.counters();
  const writersCpu = startCpuMeter();
  const writersStart = performance.now();
  await pipeline.writeFlatOut(() => interrupted || performance.now() - writersStart > settings.backlogSeconds * 1000, settings.eventsPerCommit);
  const writersSeconds = (performance.now() - writersStart) / 1000;
  const writersCpuUse = writersCpu();
  const written = pipeline.counters().written - before.written;
  log(`    writers alone: ${fmt(written / writersSeconds)} events/s, ${settings.eventsPerCommit} per commit`);
  log(`    ${describeCpu(writersCpuUse, written, 'event')}`);

  pipeline.resetStats();
  const deliveryCpu = startCpuMeter();
  const deliveryStart = performance.now();
  await pipeline.startRelay();
  if (!(await pipeline.drain(120_000))) throw new Error('the backlog did not drain within 120 s');
  const deliverySeconds = (performance.now() - deliveryStart) / 1000;
  const deliveryCpuUse = deliveryCpu();
  const rate = written / deliverySeconds;
  log(`    relay + broker + consumer on a backlog of ${fmt(written)}: ${fmt(rate)} events/s into the read model`);
  log(`    ${statsLine(pipeline)}`);
  log(`    ${describeCpu(deliveryCpuUse, written, 'event')}\n`);
  return {
    writersAlone: { eventsPerSec: round1(written / writersSeconds), eventsPerCommit: settings.eventsPerCommit, cpu: cpuSummary(writersCpuUse, written) },
    pipelineAlone: {
      eventsPerSec: round1(rate),
      ratioToRaw: Math.round((rate / rawRate) * 1000) / 1000,
      backlog: written,
      ...describeStats(pipeline.stats),
      cpu: cpuSummary(deliveryCpuUse, written),
    },
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
    const alone = await backlog(pipeline, rawResult.msgsPerSec);
    const capacity = await flatOut(pipeline, rawResult.msgsPerSec, settings.eventsPerCommit, `3/6 with the writers: flat out, ${settings.eventsPerCommit} events per commit`);
    const { lag, consistent } = await paced(pipeline, Math.max(1, Math.round(capacity.eventsPerSec / 2)), settings.eventsPerCommit, '4/6 lag at half that rate');
    const single = await flatOut(pipeline, rawResult.msgsPerSec, 1, '5/6 with the writers: flat out, one event per commit');
    const singleLag = await paced(pipeline, Math.max(1, Math.round(single.eventsPerSec / 2)), 1, '6/6 lag at half that rate');
    const ratioMet = alone.pipelineAlone.ratioToRaw >= 0.5;
    const lagMet = lag.p99 < 100 && singleLag.lag.p99 < 100;

    const lagCells = (l: typeof lag) => [`${fmt(l.p50)} ms`, `${fmt(l.p99)} ms`, `${fmt(l.max)} ms`];
    log(
      table([
        ['events bench', 'rate', 'vs raw', 'lag p50', 'lag p99', 'lag max'],
        ['raw amqplib (ceiling)', `${fmt(rawResult.msgsPerSec)} msg/s`, '1.00x', '', '', ''],
        ['pipeline alone (backlog)', `${fmt(alone.pipelineAlone.eventsPerSec)} ev/s`, `${alone.pipelineAlone.ratioToRaw.toFixed(3)}x`, '', '', ''],
        [`  writers alone, ${settings.eventsPerCommit}/commit`, `${fmt(alone.writersAlone.eventsPerSec)} ev/s`, '', '', '', ''],
        [`with writers, ${settings.eventsPerCommit} ev/commit`, `${fmt(capacity.eventsPerSec)} ev/s`, `${capacity.ratioToRaw.toFixed(3)}x`, '', '', ''],
        ['  at half rate', `${fmt(lag.rate)} ev/s`, '', ...lagCells(lag)],
        ['with writers, 1 ev/commit', `${fmt(single.eventsPerSec)} ev/s`, `${single.ratioToRaw.toFixed(3)}x`, '', '', ''],
        ['  at half rate', `${fmt(singleLag.lag.rate)} ev/s`, '', ...lagCells(singleLag.lag)],
      ]),
    );
    log(
      `\ntargets: pipeline >= 50% of raw: ${ratioMet ? 'met' : 'MISSED'} (${(100 * alone.pipelineAlone.ratioToRaw).toFixed(1)}% alone, ` +
        `${(100 * capacity.ratioToRaw).toFixed(1)}% sharing the machine with writers at ${settings.eventsPerCommit} events per commit); ` +
        `p99 lag < 100 ms at half rate: ${lagMet ? 'met' : 'MISSED'} (${fmt(lag.p99)} ms, ${fmt(singleLag.lag.p99)} ms with one event per commit)`,
    );
    log(
      `with writers, their own transactions share the 2 cores, a cost the raw ceiling does not have; ` +
        `with one event per commit this run was limited by ${single.limitedBy}`,
    );
    const busy = Math.max(rawResult.cpu.othersPercent ?? 0, capacity.cpu.othersPercent ?? 0, lag.cpu.othersPercent ?? 0);
    if (busy > 10) log(`other processes used up to ${busy}% of the machine during the phases: absolute figures are low, compare ratios`);

    const results = {
      raw: rawResult,
      pipelineAlone: alone.pipelineAlone,
      writersAlone: alone.writersAlone,
      pipeline: capacity,
      lagAtHalfRate: lag,
      oneEventPerCommit: { ...single, lagAtHalfRate: singleLag.lag },
      targets: { ratioToRawAtLeast: 0.5, ratioMet, p99LagBelowMs: 100, lagMet },
      readModelEqualsSource: consistent && singleLag.consistent,
      settings: { ...settings, quick },
      machine: m,
    };
    log(`\nwrote ${writeResults('events', results)}`);
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
