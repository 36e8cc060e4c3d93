/**
 * Operating integration events:
 *   npm run events -- parked <service>            list messages parked for a consumer, with reasons
 *   npm run events -- redrive <service>           move them back to its queue (idempotent in effect)
 *   npm run events -- rebuild <service>           rebuild its read model from its sources' snapshots, then verify it
 *   npm run events -- verify [service]            compare read models with their sources (waits up to 30 s for stragglers)
 *   npm run events -- lag                          replication lag per consumer (from /metrics)
 * Works on the copy of the system that `npm start` with the same variables runs (STACK_NAME,
 * PORT_OFFSET, HOST, POSTGRES_URL, AMQP_URL).
 */
import { loadServices, readModelSources, verifyReadModels, withServiceDbs } from '@mercado/bring-up';
import { listParked, rebuildReadModel, redriveParked, topologyNames, verifyUntilEqual, type ReadModelReport } from '@mercado/event-bus';
import { consumers as consumingServices, portsOf, urlOf } from '@mercado/system';
import { scriptStack } from './lib/environment.ts';

const [command, name] = process.argv.slice(2);
const stack = scriptStack();
const names = topologyNames(stack.name);
const byName = await loadServices();
const services = Object.values(byName);
const consumers = consumingServices.map((s) => s.name);

const withDbs = <T>(involved: string[], fn: (dbs: Record<string, unknown>) => Promise<T>) => withServiceDbs(stack, byName, involved, fn);
const sourcesOf = (consumer: string) => readModelSources(byName, consumer);

function describeReport(r: ReadModelReport): string {
  if (r.equal) return `${r.consumer.padEnd(10)} equal to ${sourcesOf(r.consumer).join(' and ')}: ${r.compared} aggregates`;
  const list = (label: string, keys: string[]) => (keys.length ? [`    ${label} (${keys.length}): ${keys.slice(0, 10).join(', ')}${keys.length > 10 ? ', ...' : ''}`] : []);
  return [
    `${r.consumer.padEnd(10)} DIFFERS from ${sourcesOf(r.consumer).join(' and ')} (${r.compared} aggregates compared)`,
    ...list('missing', r.missing),
    ...list('behind', r.behind),
    ...list('different', r.different),
    ...list('extra', r.extra),
  ].join('\n');
}

/** Each second for up to 30 s while a read model differs: events may still be in flight. */
const patience = {
  timeoutMs: 30_000,
  intervalMs: 1000,
  onDiffer: (r: ReadModelReport) =>
    console.log(`${r.consumer.padEnd(10)} not equal yet (${r.missing.length + r.behind.length + r.different.length + r.extra.length} of ${r.compared} differ); looking again`),
};

function requireConsumer(): string {
  if (!name || !consumers.includes(name)) {
    console.error(`name a consuming service: ${consumers.join(', ')}`);
    process.exit(2);
  }
  return name;
}

switch (command) {
  case 'parked': {
    const consumer = requireConsumer();
    const parked = await listParked(stack.amqpUrl, names, consumer);
    if (parked.length === 0) console.log(`nothing parked for ${consumer}`);
    for (const p of parked) console.log(`${p.parkedAt ?? '-'}  ${p.routingKey}  ${p.messageId ?? '-'}\n    reason: ${p.reason}\n    body:   ${p.body.slice(0, 300)}`);
    break;
  }
  case 'redrive': {
    const consumer = requireConsumer();
    const moved = await redriveParked(stack.amqpUrl, names, consumer);
    console.log(`moved ${moved} parked message(s) back to ${names.queue(consumer)}`);
    break;
  }
  case 'rebuild': {
    const consumer = requireConsumer();
    await withDbs([consumer, ...sourcesOf(consumer)], async (dbs) => {
      const result = await rebuildReadModel({ consumer: byName[consumer]!, services: byName, dbs, onProgress: console.log });
      const report = result.complete ? await verifyUntilEqual({ consumer: byName[consumer]!, services: byName, dbs, ...patience }) : undefined;
      if (report) console.log(describeReport(report));
      process.exitCode = report?.equal ? 0 : 1;
    });
    break;
  }
  case 'verify': {
    const withReadModels = services.filter((s) => s.events?.readModel).map((s) => s.name);
    if (name && !withReadModels.includes(name)) {
      console.error(`name a service with a read model: ${withReadModels.join(', ')}`);
      process.exit(2);
    }
    const reports = await verifyReadModels(stack, byName, { ...(name ? { only: [name] } : {}), ...patience });
    for (const report of reports) console.log(describeReport(report));
    process.exitCode = reports.every((r) => r.equal) ? 0 : 1;
    break;
  }
  case 'lag': {
    for (const service of consumingServices) {
      try {
        // The management port of the first replica (Prometheus sums every replica's).
        const text = await (await fetch(urlOf(stack, portsOf(stack, service.name).metricsPort, '/metrics'))).text();
        const count = [...text.matchAll(/mercado_event_replication_lag_seconds_count\{[^}]*\} (\d+)/g)].reduce((n, m) => n + Number(m[1]), 0);
        const sum = [...text.matchAll(/mercado_event_replication_lag_seconds_sum\{[^}]*\} ([\d.e+-]+)/g)].reduce((n, m) => n + Number(m[1]), 0);
        console.log(`${service.name.padEnd(10)} ${count} events applied, mean lag ${count ? ((sum / count) * 1000).toFixed(1) : '-'} ms`);
      } catch {
        console.log(`${service.name.padEnd(10)} not running`);
      }
    }
    break;
  }
  default:
    console.error('usage: npm run events -- parked|redrive|rebuild <service> | verify [service] | lag');
    process.exit(2);
}
