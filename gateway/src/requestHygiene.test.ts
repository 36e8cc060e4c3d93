import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { HttpError } from '@mercado/service-kit';
import { checkPersistedQuery, nulBytePath } from './requestHygiene.ts';

const query = '{ categories }';
const hash = createHash('sha256').update(query).digest('hex');
const refusal = (request: { method: string; search: string; body: unknown }) => {
  try {
    checkPersistedQuery(request);
    return undefined;
  } catch (error) {
    expect(error).toBeInstanceOf(HttpError);
    return { status: (error as HttpError).status, code: (error as HttpError).code };
  }
};

describe('persisted query checks', () => {
  it('lets matching hashes, hash-only requests and plain queries through', () => {
    expect(refusal({ method: 'POST', search: '', body: { query, extensions: { persistedQuery: { version: 1, sha256Hash: hash } } } })).toBeUndefined();
    expect(refusal({ method: 'POST', search: '', body: { extensions: { persistedQuery: { version: 1, sha256Hash: hash } } } })).toBeUndefined();
    expect(refusal({ method: 'POST', search: '', body: { query } })).toBeUndefined();
  });

  it('names a hash that is not the query\'s, over POST and GET', () => {
    const wrong = { version: 1, sha256Hash: 'f'.repeat(64) };
    expect(refusal({ method: 'POST', search: '', body: { query, extensions: { persistedQuery: wrong } } })).toEqual({ status: 400, code: 'PERSISTED_QUERY_HASH_MISMATCH' });
    const search = `?query=${encodeURIComponent(query)}&extensions=${encodeURIComponent(JSON.stringify({ persistedQuery: wrong }))}`;
    expect(refusal({ method: 'GET', search, body: undefined })).toEqual({ status: 400, code: 'PERSISTED_QUERY_HASH_MISMATCH' });
  });

  it('names an unsupported version', () => {
    expect(refusal({ method: 'POST', search: '', body: { query, extensions: { persistedQuery: { version: 2, sha256Hash: hash } } } })).toEqual({ status: 400, code: 'PERSISTED_QUERY_VERSION_NOT_SUPPORTED' });
  });
});

describe('NUL bytes', () => {
  it('finds the first string with a NUL byte, however deep', () => {
    expect(nulBytePath({ input: { email: 'a@b.c', name: 'x\u0000y' } })).toEqual(['input', 'name']);
    expect(nulBytePath({ list: ['ok', 'n\u0000'] })).toEqual(['list', '1']);
    expect(nulBytePath({ input: { email: 'a@b.c', n: 1, b: null } })).toBeUndefined();
  });
});
