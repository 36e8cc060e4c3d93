import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { checkedVersion, sendRequestSourceSha256, shapeProblems } from './apolloInternalsShapes.ts';

const gatewayDir = fileURLToPath(new URL('..', import.meta.url));

describe('@apollo/gateway internals the gateway relies on', () => {
  it('are all there in the installed @apollo/gateway (docs/upgrading-apollo.md when this fails)', () => {
    const problems = shapeProblems(gatewayDir, sendRequestSourceSha256);
    expect(problems, `\n${problems.join('\n')}\n`).toEqual([]);
  });

  describe('a changed @apollo/gateway', () => {
    // A stand-in package with each kind of change, so that the messages are known to name it.
    const dir = mkdtempSync(join(tmpdir(), 'mercado-apollo-shapes-'));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));
    const pkg = join(dir, 'node_modules', '@apollo', 'gateway');
    mkdirSync(join(pkg, 'dist'), { recursive: true });
    writeFileSync(join(pkg, 'package.json'), JSON.stringify({ name: '@apollo/gateway', version: '9.9.9', main: 'dist/index.js' }));
    writeFileSync(
      join(pkg, 'dist', 'index.js'),
      `class RemoteGraphQLDataSource {
         async sendRequest(request, context, extra) { return this.fetcher(request, context, extra); }
         errorFromResponse(response) {}
         didEncounterError(error, fetchRequest, fetchResponse, context, request) {}
       }
       exports.RemoteGraphQLDataSource = RemoteGraphQLDataSource;`,
    );
    writeFileSync(join(pkg, 'dist', 'dataRewrites.js'), 'exports.applyRewrites = (schema, rewrites) => {}; exports.isObjectOfType = (a, b, c) => true;');
    writeFileSync(join(pkg, 'dist', 'executeQueryPlan.js'), 'exports.executeQueryPlan = () => {};');
    const problems = shapeProblems(dir, sendRequestSourceSha256);
    const at = `@apollo/gateway 9.9.9 (shapes recorded from ${checkedVersion})`;

    it('names a missing file', () => {
      expect(problems).toContain(`${at}: dist/resultShaping.js is missing (gateway/src/executor/apolloInternals.ts requires it)`);
    });
    it('names a missing export', () => {
      expect(problems).toContain(`${at}: dist/executeQueryPlan.js no longer exports the function generateHydratedPaths`);
    });
    it('names a changed arity', () => {
      expect(problems).toContain(`${at}: dist/dataRewrites.js applyRewrites now declares 2 parameters (recorded: 3)`);
      expect(problems).toContain(`${at}: RemoteGraphQLDataSource.prototype.sendRequest now declares 3 parameters (recorded: 2; gateway/src/subgraphDataSource.ts relies on it)`);
    });
    it('names a method no longer on the prototype', () => {
      expect(problems).toContain(`${at}: RemoteGraphQLDataSource.prototype.parseBody is no longer on the prototype (gateway/src/subgraphDataSource.ts calls it)`);
    });
    it('names a package no longer resolvable from the gateway', () => {
      expect(problems).toContain(`${at}: @apollo/federation-internals no longer resolves from @apollo/gateway (apolloInternals.ts loads it from there)`);
    });
    it('names a change in the source of the replaced sendRequest', () => {
      expect(problems.some((p) => p.startsWith(`${at}: RemoteGraphQLDataSource.prototype.sendRequest's source changed`))).toBe(true);
    });
    it('finds nothing else to complain about', () => {
      expect(problems.filter((p) => !/resultShaping|generateHydratedPaths|applyRewrites|sendRequest|parseBody|federation-internals|query-planner|graphql /.test(p))).toEqual([]);
    });
  });
});
