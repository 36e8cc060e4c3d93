import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { ApolloServerPlugin } from '@apollo/server';
import { GraphQLError, visit } from 'graphql';
import { HttpError } from '@mercado/service-kit';
import type { GatewayPlugin } from './plugin.ts';

/**
 * Small refusals at the door, each with a stable code, for requests that would otherwise reach
 * an INTERNAL_SERVER_ERROR deep inside (a NUL byte PostgreSQL refuses to store), get a vague
 * BAD_REQUEST from Apollo, or show what only operators should see (query plans).
 */

/** Headers that make @apollo/gateway return its query plan (and the fast executor step aside). */
const queryPlanHeaders = ['apollo-query-plan-experimental', 'apollo-query-plan-experimental-format'];

/** Drops the query-plan headers unless an operator turned plans on (GATEWAY_EXPOSE_QUERY_PLANS). */
export function stripQueryPlanHeaders(req: IncomingMessage): void {
  for (const name of queryPlanHeaders) delete req.headers[name];
}

interface PersistedQueryExtension {
  version?: unknown;
  sha256Hash?: unknown;
}

function persistedQueryOf(method: string, search: string, body: unknown): { query?: unknown; persistedQuery?: PersistedQueryExtension } {
  if (method === 'GET') {
    const params = new URLSearchParams(search);
    try {
      const extensions = JSON.parse(params.get('extensions') ?? 'null') as { persistedQuery?: PersistedQueryExtension } | null;
      return { query: params.get('query') ?? undefined, persistedQuery: extensions?.persistedQuery };
    } catch {
      return {};
    }
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return {};
  const { query, extensions } = body as { query?: unknown; extensions?: { persistedQuery?: PersistedQueryExtension } };
  return { query, persistedQuery: extensions?.persistedQuery };
}

/**
 * Automatic persisted queries, checked before Apollo: an unsupported version is
 * PERSISTED_QUERY_VERSION_NOT_SUPPORTED and a hash that is not the document's is
 * PERSISTED_QUERY_HASH_MISMATCH (Apollo answers both with a bare BAD_REQUEST).
 */
export function checkPersistedQuery({ method, search, body }: { method: string; search: string; body: unknown }): void {
  const { query, persistedQuery } = persistedQueryOf(method, search, body);
  if (persistedQuery === undefined || persistedQuery === null) return;
  if (persistedQuery.version !== 1) {
    throw new HttpError(400, 'PERSISTED_QUERY_VERSION_NOT_SUPPORTED', 'Only version 1 of automatic persisted queries is supported');
  }
  if (typeof query === 'string' && createHash('sha256').update(query).digest('hex') !== persistedQuery.sha256Hash) {
    throw new HttpError(400, 'PERSISTED_QUERY_HASH_MISMATCH', 'The persisted query hash is not the SHA-256 of the query sent with it');
  }
}

/** The path of the first string holding a NUL byte in a JSON value, or undefined. */
export function nulBytePath(value: unknown, path: string[] = []): string[] | undefined {
  if (typeof value === 'string') return value.includes('\u0000') ? path : undefined;
  if (typeof value !== 'object' || value === null) return undefined;
  for (const [key, item] of Object.entries(value)) {
    const found = nulBytePath(item, [...path, key]);
    if (found) return found;
  }
  return undefined;
}

const nulByteError = (where: string) =>
  new GraphQLError(`${where} contains a NUL byte (\\u0000), which no field accepts`, { extensions: { code: 'BAD_USER_INPUT', http: { status: 400 } } });

/**
 * Refuses NUL bytes in variables and in string literals before anything runs: PostgreSQL cannot
 * store them in text, so they would otherwise fail deep in a subgraph as an internal error.
 */
export function refuseNulBytes(): ApolloServerPlugin {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ request, document }) {
          const inVariables = nulBytePath(request.variables ?? {});
          if (inVariables) throw nulByteError(`Variable $${inVariables.join('.')}`);
          let literal = false;
          visit(document, {
            StringValue(node) {
              if (node.value.includes('\u0000')) literal = true;
            },
          });
          if (literal) throw nulByteError('A string argument');
        },
      };
    },
  };
}

/** Drops the query-plan request headers unless query plans are exposed on purpose. */
export function useQueryPlanHeaders(expose: boolean): GatewayPlugin {
  return {
    name: 'query-plan-headers',
    onRequest(req) {
      if (!expose) stripQueryPlanHeaders(req);
      return false;
    },
  };
}

/** Stable codes for malformed persisted queries and NUL bytes in variables or literals. */
export function useRequestHygiene(): GatewayPlugin {
  return { name: 'request-hygiene', onGraphQLRequest: checkPersistedQuery, apollo: refuseNulBytes() };
}
