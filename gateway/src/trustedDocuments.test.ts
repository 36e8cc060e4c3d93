import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { HttpError } from '@mercado/service-kit';
import { manifestJson, operationProblems, readOperationFiles } from './generateTrustedDocuments.ts';
import { documentHash, loadTrustedDocuments, trustedDocumentsGuard, trustedDocumentsPath } from './trustedDocuments.ts';

const categories = 'query Categories {\n  categories\n}\n';
const guard = trustedDocumentsGuard(new Map([[documentHash(categories), categories]]));
const pq = (sha256Hash: string) => ({ persistedQuery: { version: 1, sha256Hash } });

function refusal(request: { method?: string; search?: string; body?: unknown }): string | undefined {
  try {
    guard({ method: 'POST', search: '', body: undefined, ...request });
    return undefined;
  } catch (error) {
    if (!(error instanceof HttpError)) throw error;
    expect(error.status).toBe(400);
    return error.code;
  }
}

const folder = mkdtempSync(join(tmpdir(), 'trusted-documents-'));
afterAll(() => rmSync(folder, { recursive: true, force: true }));

describe('trusted documents in production', () => {
  it('runs a trusted document sent by hash, by hash with its text, or by its exact text', () => {
    expect(refusal({ body: { extensions: pq(documentHash(categories)) } })).toBeUndefined();
    expect(refusal({ body: { query: categories, extensions: pq(documentHash(categories)) } })).toBeUndefined();
    expect(refusal({ body: { query: categories } })).toBeUndefined();
    expect(refusal({ method: 'GET', search: `?extensions=${encodeURIComponent(JSON.stringify(pq(documentHash(categories))))}` })).toBeUndefined();
  });

  it('refuses any other document before it is parsed', () => {
    expect(refusal({ body: { query: '{ categories }' } })).toBe('OPERATION_NOT_ALLOWED');
    expect(refusal({ body: { query: categories.trim() } })).toBe('OPERATION_NOT_ALLOWED');
    expect(refusal({ body: { query: '{ __schema { types { name } } }', extensions: pq(documentHash(categories)) } })).toBe('OPERATION_NOT_ALLOWED');
    expect(refusal({ body: { query: { kind: 'Document' } } })).toBe('OPERATION_NOT_ALLOWED');
    expect(refusal({ method: 'GET', search: `?query=${encodeURIComponent('{ categories }')}` })).toBe('OPERATION_NOT_ALLOWED');
  });

  it('refuses a hash that names no trusted document', () => {
    expect(refusal({ body: { extensions: pq(documentHash('{ categories }')) } })).toBe('PERSISTED_QUERY_NOT_FOUND');
    expect(refusal({ body: { extensions: pq(documentHash(categories).toUpperCase()) } })).toBe('PERSISTED_QUERY_NOT_FOUND');
    expect(refusal({ method: 'GET', search: `?extensions=${encodeURIComponent(JSON.stringify(pq('0'.repeat(64))))}` })).toBe('PERSISTED_QUERY_NOT_FOUND');
  });

  it('loads a manifest only when every hash matches its text', () => {
    const good = join(folder, 'good.json');
    writeFileSync(good, JSON.stringify({ [documentHash(categories)]: categories }));
    expect([...loadTrustedDocuments(good).keys()]).toEqual([documentHash(categories)]);
    const tampered = join(folder, 'tampered.json');
    writeFileSync(tampered, JSON.stringify({ [documentHash(categories)]: '{ __schema { types { name } } }' }));
    expect(() => loadTrustedDocuments(tampered)).toThrow(/does not hash to its text/);
  });
});

describe('the trusted documents manifest', () => {
  const supergraph = readFileSync(new URL('../supergraph.graphql', import.meta.url), 'utf8');

  it('holds exactly the operation files, all valid and within the limits', () => {
    const operations = readOperationFiles();
    expect(operations.map((o) => o.file)).toEqual(expect.arrayContaining(['gateway/operations/login.graphql', 'e2e/test/operations/myOrders.graphql']));
    expect(operationProblems(operations, supergraph)).toEqual([]);
    expect(readFileSync(trustedDocumentsPath, 'utf8')).toBe(manifestJson(operations));
  });

  it('reports operations that do not fit the graph, are unnamed, share a name or cost too much', () => {
    const problems = operationProblems(
      [
        { file: 'a.graphql', text: 'query A { products { totalCount nope } }' },
        { file: 'b.graphql', text: '{ categories }' },
        { file: 'c.graphql', text: 'query A { categories }' },
        { file: 'd.graphql', text: `query D { ${Array.from({ length: 16 }, (_, i) => `a${i}: categories`).join(' ')} }` },
        { file: 'e.graphql', text: 'query E($n: Int = 100) { products(first: $n) { edges { node { reviews(first: 50) { author { reviews(first: 50) { body } } } } } } }' },
      ],
      supergraph,
    );
    expect(problems).toEqual([
      'a.graphql: Cannot query field "nope" on type "ProductConnection".',
      'b.graphql: every operation needs a name',
      'c.graphql: operation A is also defined in a.graphql',
      'd.graphql: Aliases limit of 15 exceeded, found 16.',
      'e.graphql: estimated cost 260201 exceeds the limit of 20000',
    ]);
  });
});
