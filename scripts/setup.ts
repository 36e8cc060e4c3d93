/**
 * `npm run setup`: prepares a copy of the system without starting it: checks the backing
 * services, creates each service's database if missing, applies its migrations, seeds the
 * development data, declares the broker's queues and fills empty read models. Idempotent;
 * `npm start` does the same first.
 */
import { fileURLToPath } from 'node:url';
import { bootstrapReadModels, declareBroker, prepareDatabases, unreachableBackingServices } from '@mercado/bring-up';
import type { Stack } from '@mercado/system';
import { redact, scriptStack } from './lib/environment.ts';

export async function checkBackingServices(stack: Stack): Promise<void> {
  const missing = await unreachableBackingServices(stack);
  if (missing.length === 0) return;
  console.error('\nMercado needs these services, which do not answer:\n');
  for (const m of missing) console.error(`  ✗ ${m.name} at ${redact(m.url)}: ${m.reason}`);
  console.error(
    '\nStart them, for example with Docker:   docker compose up -d postgres redis rabbitmq' +
      '\nor point POSTGRES_URL, REDIS_URL, AMQP_URL at running ones (see README, "Environment").\n',
  );
  process.exit(1);
}

export async function prepare(stack: Stack, log: (line: string) => void = console.log): Promise<void> {
  log(`Preparing databases and broker of stack "${stack.name}":`);
  await prepareDatabases(stack, { log });
  await declareBroker(stack, log);
  await bootstrapReadModels(stack, log);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const stack = scriptStack();
  await checkBackingServices(stack);
  await prepare(stack);
}
