import { pino, type Logger } from 'pino';
import { logCorrelation } from '@mercado/telemetry';

export type { Logger };

/**
 * One JSON logger per process, tagged with the service name. Every line written while serving a
 * request, an event or a saga job carries its trace and span ids (when traces are on) and the
 * request id, so a line found in the logs leads to its trace and the trace to its lines.
 */
export function createLogger(service: string, level = process.env.LOG_LEVEL ?? 'info'): Logger {
  return pino({ name: service, level, base: { service }, mixin: logCorrelation });
}
