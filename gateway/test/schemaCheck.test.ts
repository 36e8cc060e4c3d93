import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  apiSchemaSdl,
  compareApiSchemas,
  parseAcknowledgements,
  snapshotFile,
  trustedDocumentProblems,
  updateCommand,
} from '../src/schemaCheck.ts';

const read = (file: string) => readFileSync(new URL(`../../${file}`, import.meta.url), 'utf8');
const supergraph = read('gateway/supergraph.graphql');
const snapshot = read(snapshotFile);
const manifest = read('gateway/trusted-documents.json');

/** The committed API schema minus Product.averageRating (and its description). */
const withoutAverageRating = snapshot.replace(/  """Mean rating over all reviews, null when there are none."""\n  averageRating: Float\n/, '');

describe('schema check', () => {
  it('has a snapshot equal to the API schema of the committed supergraph', () => {
    expect(apiSchemaSdl(supergraph), `${snapshotFile} is stale: run \`${updateCommand}\``).toBe(snapshot);
  });

  it('flags a removed field as a breaking change nobody acknowledged', async () => {
    expect(withoutAverageRating).not.toBe(snapshot);
    const report = await compareApiSchemas(snapshot, withoutAverageRating, []);
    expect(report.unacknowledged.map((c) => [c.path, c.type])).toEqual([['Product.averageRating', 'FIELD_REMOVED']]);
    expect(report.acknowledged).toEqual([]);
  });

  it('passes a breaking change acknowledged in schema-changes.json, with its reason', async () => {
    const acks = parseAcknowledgements(
      JSON.stringify([{ path: 'Product.averageRating', type: 'FIELD_REMOVED', reason: 'no client reads it (checked in the trusted documents)' }]),
    );
    const report = await compareApiSchemas(snapshot, withoutAverageRating, acks);
    expect(report.unacknowledged).toEqual([]);
    expect(report.acknowledged.map(({ change, reason }) => [change.path, reason])).toEqual([
      ['Product.averageRating', 'no client reads it (checked in the trusted documents)'],
    ]);
  });

  it('does not let an acknowledgement of one change cover another', async () => {
    const acks = parseAcknowledgements(JSON.stringify([{ path: 'Product.averageRating', type: 'FIELD_TYPE_CHANGED', reason: 'a different change' }]));
    const report = await compareApiSchemas(snapshot, withoutAverageRating, acks);
    expect(report.unacknowledged.map((c) => c.path)).toEqual(['Product.averageRating']);
  });

  it('passes an added field as safe', async () => {
    const added = snapshot.replace('  averageRating: Float\n', '  averageRating: Float\n  ratingCount: Int\n');
    const report = await compareApiSchemas(snapshot, added, []);
    expect(report.unacknowledged).toEqual([]);
    expect(report.safe.map((c) => [c.path, c.type])).toEqual([['Product.ratingCount', 'FIELD_ADDED']]);
  });

  it('refuses an acknowledgement without a reason', () => {
    expect(() => parseAcknowledgements(JSON.stringify([{ path: 'Product.averageRating', reason: ' ' }]))).toThrow(/non-empty "reason"/);
    expect(() => parseAcknowledgements('{}')).toThrow(/must be an array/);
  });

  it('checks the trusted documents against the new schema', () => {
    expect(trustedDocumentProblems(supergraph, manifest)).toEqual([]);
    const broken = supergraph.replace(
      '  """Mean rating over all reviews, null when there are none."""\n  averageRating: Float @join__field(graph: REVIEWS)\n',
      '',
    );
    expect(broken).not.toBe(supergraph);
    const problems = trustedDocumentProblems(broken, manifest);
    expect(problems.length).toBeGreaterThan(0);
    expect(problems.join('\n')).toMatch(/Cannot query field "averageRating" on type "Product"/);
  });
});
