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
import { databaseUrlOf, loadServices } from '@mercado/bring-up';
import { listParked, rebuildReadModel, redriveParked, topologyNames, verifyUntilEqual, type ReadModelReport } from '@mercado/event-bus';
import { consumers as consumingServices, portsOf, urlOf } from '@mercado/system';
import { scriptStack } from './lib/environment.ts';

const [command, name] = process.argv.slice(2);
const stack = scriptStack();
const names = topologyNames(stack.name);
const byName = await loadServices();
const services = Object.values(byName);
const consumers = consumingServices.map((s) => s.name);

/** Opens a database client for each service named, runs fn, and closes them. */
async function withDbs<T>(involved: string[], fn: (dbs: Record<string, unknown>) => Promise<T>): Promise<T> {
  const dbs = Object.fromEntries(involved.map((n) => [n, byName[n]!.createDb(databaseUrlOf(stack, n))]));
  try {
    return await fn(dbs);
  } finally {
    for (const db of Object.values(dbs)) await (db as { $disconnect(): Promise<void> }).$disconnect();
  }
}

const sourcesOf = (consumer: string) => byName[consumer]!.events?.readModel?.sources ?? [];

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

/** Verifies a read model, looking again each second for up to 30 s while it differs. */
const checkReadModel = (consumer: string, dbs: Record<string, unknown>) =>
  verifyUntilEqual({
    consumer: byName[consumer]!,
    services: byName,
    dbs,
    timeoutMs: 30_000,
    intervalMs: 1000,
    onDiffer: (r) =>
      console.log(`${consumer.padEnd(10)} not equal yet (${r.missing.length + r.behind.length + r.different.length + r.extra.length} of ${r.compared} differ); looking again`),
  });

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
      const report = result.complete ? await checkReadModel(consumer, dbs) : undefined;
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
    let allEqual = true;
    for (const consumer of name ? [name] : withReadModels) {
      const report = await withDbs([consumer, ...sourcesOf(consumer)], (dbs) => checkReadModel(consumer, dbs));
      console.log(describeReport(report));
      allEqual &&= report.equal;
    }
    process.exitCode = allEqual ? 0 : 1;
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
