import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { PersistedQueryOptions } from '@apollo/server';
import { HttpError } from '@mercado/service-kit';
import type { GatewayPlugin } from './plugin.ts';

/** The project's own operations: SHA-256 of the exact document text (hex) -> that text. */
export type TrustedDocuments = ReadonlyMap<string, string>;

/** Where `npm run trusted-documents -w @mercado/gateway` writes the manifest. */
export const trustedDocumentsPath = fileURLToPath(new URL('../trusted-documents.json', import.meta.url));

/** The hash automatic persisted queries use: SHA-256 of the document text, lower-case hex. */
export function documentHash(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** Reads a manifest (`{ "<sha256>": "<document>" }`) and checks that every hash matches its text. */
export function loadTrustedDocuments(path: string = trustedDocumentsPath): TrustedDocuments {
  const manifest = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  const documents = new Map<string, string>();
  for (const [hash, text] of Object.entries(manifest)) {
    if (typeof text !== 'string' || documentHash(text) !== hash) throw new Error(`${path}: the entry ${hash} does not hash to its text`);
    documents.set(hash, text);
  }
  return documents;
}

/** What a GraphQL request names: its document text and/or its persisted-query hash. */
function requestedDocument(method: string, search: string, body: unknown): { query?: unknown; hash?: unknown } {
  if (method === 'GET') {
    const params = new URLSearchParams(search);
    let extensions: { persistedQuery?: { sha256Hash?: unknown } } | undefined;
    try {
      extensions = JSON.parse(params.get('extensions') ?? 'null') ?? undefined;
    } catch {
      // Apollo refuses the malformed parameter itself; there is no hash to look up here.
    }
    return { query: params.get('query') ?? undefined, hash: extensions?.persistedQuery?.sha256Hash };
  }
  if (typeof body !== 'object' || body === null) return {};
  const { query, extensions } = body as { query?: unknown; extensions?: { persistedQuery?: { sha256Hash?: unknown } } };
  return { query, hash: extensions?.persistedQuery?.sha256Hash };
}

/**
 * The production gate in front of Apollo: a request runs only if it names one of the project's
 * own documents, by hash (automatic-persisted-query style, with or without the text) or by its
 * exact text. Anything else is refused before it is parsed, so an attacker cannot make the
 * gateway plan, validate or fan out an operation of their own.
 */
export function trustedDocumentsGuard(documents: TrustedDocuments) {
  return ({ method, search, body }: { method: string; search: string; body: unknown }): void => {
    // A batch is refused by Apollo (allowBatchedHttpRequests is off) without running any of it.
    if (Array.isArray(body)) return;
    const { query, hash } = requestedDocument(method, search, body);
    if (query !== undefined) {
      if (typeof query === 'string' && documents.has(documentHash(query))) return;
      throw new HttpError(400, 'OPERATION_NOT_ALLOWED', 'This gateway only runs the operations of Mercado\'s own clients, and this document is not one of them');
    }
    if (hash !== undefined) {
      if (typeof hash === 'string' && documents.has(hash)) return;
      throw new HttpError(400, 'PERSISTED_QUERY_NOT_FOUND', 'No trusted document has this hash; this gateway only runs the operations of Mercado\'s own clients');
    }
    // Neither text nor hash: Apollo answers that an operation is missing.
  };
}

/**
 * Apollo's persisted-query store in production: looks hashes up in the manifest and ignores
 * registrations, so a client can never add a document of its own.
 */
export function trustedDocumentsStore(documents: TrustedDocuments): PersistedQueryOptions {
  return {
    cache: {
      // Apollo asks for its own namespaced keys ("apq:<hash>").
      get: async (key: string) => documents.get(key.slice(key.lastIndexOf(':') + 1)),
      set: async () => {},
      delete: async () => false,
    },
  };
}

/** Production's trusted documents as a gateway plugin: anything else is refused before Apollo. */
export function useTrustedDocuments(documents: TrustedDocuments): GatewayPlugin {
  return { name: 'trusted-documents', onGraphQLRequest: trustedDocumentsGuard(documents) };
}
