import type { GraphQLFormattedError } from 'graphql';
import type { Logger } from './logger.ts';

/** Codes whose message is written for the client and safe to show as is. */
const clientCodes = new Set([
  'BAD_USER_INPUT',
  'NOT_FOUND',
  'UNAUTHENTICATED',
  'INVALID_CREDENTIALS',
  'FORBIDDEN',
  'CONFLICT',
  'SERVICE_UNAVAILABLE',
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'BAD_REQUEST',
  'OPERATION_RESOLUTION_FAILURE',
  'PERSISTED_QUERY_NOT_FOUND',
  'PERSISTED_QUERY_NOT_SUPPORTED',
  'PERSISTED_QUERY_HASH_MISMATCH',
  'PERSISTED_QUERY_VERSION_NOT_SUPPORTED',
  'COST_LIMIT_EXCEEDED',
  'TOO_MANY_ATTEMPTS',
]);

/** Extension keys a client may see; others (serviceName, stacktrace, exception) stay inside. */
const publicExtensions = ['code', 'field', 'cost', 'retryAfter'] as const;

/** The gateway's message when a subgraph cannot be reached: say so, without its address. */
const unreachable = /ECONNREFUSED|ECONNRESET|ETIMEDOUT|socket hang up|request to .* failed|fetch failed/i;

/**
 * A database that is there but cannot take the work right now (no pool connection in time, too
 * many clients, a transaction past its time): transient, so the client hears "try again", not
 * an internal error. Prisma's P2024 (pool timeout) and P2028 (transaction API) among them.
 */
const overloaded = /P2024|P2028|Unable to start a transaction|Transaction already closed|too many clients|Timed out fetching a new connection/i;

/**
 * Apollo's formatError hook: errors we raised on purpose pass through; anything else (a Prisma
 * error with SQL in it, a TypeError, a subgraph's address) is logged in full and shown as a
 * bare internal error, so stack traces, SQL and internal URLs never reach a client.
 */
export function maskUnexpectedErrors(logger: Logger) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const code = formatted.extensions?.code;
    const where = {
      ...(formatted.path ? { path: formatted.path } : {}),
      ...(formatted.locations ? { locations: formatted.locations } : {}),
    };
    if (typeof code === 'string' && clientCodes.has(code)) {
      const extensions: Record<string, unknown> = {};
      for (const key of publicExtensions) if (formatted.extensions?.[key] !== undefined) extensions[key] = formatted.extensions[key];
      return { message: formatted.message, ...where, extensions };
    }
    logger.error({ err: (error as { originalError?: unknown }).originalError ?? error, path: formatted.path }, 'unexpected error');
    const cause = (error as { originalError?: { message?: unknown; code?: unknown } }).originalError;
    if (overloaded.test(`${String(cause?.code ?? '')} ${String(cause?.message ?? '')}`)) {
      return { message: 'The service is busy; try again shortly', ...where, extensions: { code: 'SERVICE_UNAVAILABLE' } };
    }
    if (unreachable.test(formatted.message)) {
      return { message: 'A service needed for this request is unavailable; try again shortly', ...where, extensions: { code: 'SERVICE_UNAVAILABLE' } };
    }
    return { message: 'Internal server error', ...where, extensions: { code: 'INTERNAL_SERVER_ERROR' } };
  };
}
