import { bootstrapReadModels, declareBroker, prepareDatabases, startSystem, type RunningSystem, type SystemOptions } from '@mercado/bring-up';
import { testInternalSecret } from '@mercado/service-kit/testing';
import type { Stack } from '@mercado/system';

/**
 * The saga benches' system: databases, broker and read models of the bench's own stack, then
 * every subgraph and the gateway in its own process, as they run in production. `processStack`
 * is what the processes are given (e.g. the stack with PostgreSQL behind the SQL counter).
 */
export async function startBenchSystem(opts: {
  stack: Stack;
  processStack?: Stack;
  env?: Record<string, string>;
  nodeArgs?: SystemOptions['nodeArgs'];
  nodeBinary?: string;
  log: (line: string) => void;
  /** What to do with an error line a process prints; default: log it. */
  onErrorLine?: (label: string, line: string) => void;
}): Promise<RunningSystem> {
  const onErrorLine = opts.onErrorLine ?? ((label: string, line: string) => opts.log(`    [${label}] ${line.slice(0, 300)}`));
  await prepareDatabases(opts.stack);
  await declareBroker(opts.stack);
  await bootstrapReadModels(opts.stack);
  return startSystem({
    stack: opts.processStack ?? opts.stack,
    secret: testInternalSecret,
    env: {
      LOG_LEVEL: 'warn',
      NODE_ENV: 'development',
      APOLLO_TELEMETRY_DISABLED: '1',
      // The bench's customers are few and busy: the per-user limit would throttle them.
      RATE_LIMIT_POINTS: '100000000',
      ...opts.env,
    },
    ...(opts.nodeArgs ? { nodeArgs: opts.nodeArgs } : {}),
    ...(opts.nodeBinary ? { nodeBinary: opts.nodeBinary } : {}),
    onLine: (label, line) => {
      if (/"level":(50|60)|Error/.test(line)) onErrorLine(label, line);
    },
  });
}
