import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/**
 * What the gateway takes from @apollo/gateway beyond its public API, declared once:
 * gateway/src/executor/apolloInternals.ts loads files of its dist/ and the packages it resolves,
 * and gateway/src/subgraphDataSource.ts replaces RemoteGraphQLDataSource's private `sendRequest`
 * (calling the methods listed here). `shapeProblems()` says, one line each, what no longer holds
 * in the installed version. See docs/upgrading-apollo.md.
 */

/** The version these shapes were read from. */
export const checkedVersion = '2.14.4';

/** A file of @apollo/gateway's dist/ and the functions taken from it, with their arity. */
export const gatewayFiles: Array<{ file: string; exports: Record<string, number> }> = [
  { file: 'resultShaping.js', exports: { computeResponse: 1 } },
  { file: 'dataRewrites.js', exports: { applyRewrites: 3, isObjectOfType: 3 } },
  { file: 'executeQueryPlan.js', exports: { generateHydratedPaths: 4 } },
];

/** Packages loaded as @apollo/gateway resolves them, and the members the executor uses (arity, or 'object'). */
export const resolvedPackages: Array<{ name: string; members: Record<string, number | 'object' | 'class'> }> = [
  {
    name: '@apollo/federation-internals',
    members: {
      Supergraph: 'class',
      operationFromDocument: 3,
      errorCodeDef: 1,
      ERRORS: 'object',
      Variable: 'class',
      isCompositeType: 1,
      isCustomScalarType: 1,
      isEnumType: 1,
      isListType: 1,
      isNonNullType: 1,
      isObjectType: 1,
      isSubtype: 2,
      typenameFieldName: 'object',
    },
  },
  { name: '@apollo/query-planner', members: { QueryPlanner: 'class', evaluateCondition: 3 } },
  { name: 'graphql', members: { getVariableValues: 4, GraphQLError: 'class', Kind: 'object', printSchema: 1, buildSchema: 2 } },
];

/** Static and prototype methods used on classes above: `Class.method` or `Class.prototype.method`, with arity. */
export const classMembers: Array<{ pkg: string; path: string; arity: number }> = [
  { pkg: '@apollo/federation-internals', path: 'Supergraph.build', arity: 2 },
  { pkg: '@apollo/federation-internals', path: 'Supergraph.prototype.apiSchema', arity: 0 },
  { pkg: '@apollo/query-planner', path: 'QueryPlanner.prototype.buildQueryPlan', arity: 2 },
];

/** RemoteGraphQLDataSource's methods the replaced `sendRequest` calls, and `sendRequest` itself. */
export const dataSourceMethods: Record<string, number> = {
  sendRequest: 2,
  errorFromResponse: 1,
  parseBody: 3,
  didEncounterError: 5,
};

/**
 * sha256 of RemoteGraphQLDataSource.prototype.sendRequest's source in the checked version:
 * subgraphDataSource.ts is a copy of it minus one object, so any change to Apollo's must be
 * read and carried over (a new hook, another error, a different body check).
 */
export const sendRequestSourceSha256 = '1c6aabdff597ebe2b2b27ee1fd4a346a79a66f2e42cf17d12f849a94844476b2';

export function sourceHash(fn: (...args: never[]) => unknown): string {
  return createHash('sha256').update(fn.toString()).digest('hex');
}

const describeArity = (n: number) => `${n} parameter${n === 1 ? '' : 's'}`;

/** Every shape that no longer holds in the @apollo/gateway resolvable from `fromDir`, one line each. */
export function shapeProblems(fromDir: string, expectedSendRequestHash: string): string[] {
  const problems: string[] = [];
  const require = createRequire(join(fromDir, 'noop.js'));
  const gatewayMain = require.resolve('@apollo/gateway');
  const fromGateway = createRequire(gatewayMain);
  const distDir = dirname(gatewayMain);
  let version = 'unknown';
  try {
    version = (JSON.parse(readFileSync(join(distDir, '..', 'package.json'), 'utf8')) as { version: string }).version;
  } catch {}
  const at = `@apollo/gateway ${version} (shapes recorded from ${checkedVersion})`;

  for (const { file, exports } of gatewayFiles) {
    const path = join(distDir, file);
    if (!existsSync(path)) {
      problems.push(`${at}: dist/${file} is missing (gateway/src/executor/apolloInternals.ts requires it)`);
      continue;
    }
    const module = fromGateway(`./${file}`) as Record<string, unknown>;
    for (const [name, arity] of Object.entries(exports)) {
      const value = module[name];
      if (typeof value !== 'function') problems.push(`${at}: dist/${file} no longer exports the function ${name}`);
      else if (value.length !== arity) {
        problems.push(`${at}: dist/${file} ${name} now declares ${describeArity(value.length)} (recorded: ${arity})`);
      }
    }
  }

  const loaded = new Map<string, Record<string, unknown>>();
  for (const { name, members } of resolvedPackages) {
    let module: Record<string, unknown>;
    try {
      module = fromGateway(name) as Record<string, unknown>;
    } catch {
      problems.push(`${at}: ${name} no longer resolves from @apollo/gateway (apolloInternals.ts loads it from there)`);
      continue;
    }
    loaded.set(name, module);
    for (const [member, shape] of Object.entries(members)) {
      const value = module[member];
      if (value === undefined) problems.push(`${at}: ${name} no longer exports ${member}`);
      else if (shape === 'object' && (typeof value === 'function' || value === null)) problems.push(`${at}: ${name} ${member} is no longer a plain value`);
      else if (shape === 'class' && typeof value !== 'function') problems.push(`${at}: ${name} ${member} is no longer a class`);
      else if (typeof shape === 'number' && typeof value !== 'function') problems.push(`${at}: ${name} ${member} is no longer a function`);
      else if (typeof shape === 'number' && (value as (...args: unknown[]) => unknown).length !== shape) {
        problems.push(`${at}: ${name} ${member} now declares ${describeArity((value as (...args: unknown[]) => unknown).length)} (recorded: ${shape})`);
      }
    }
  }

  for (const { pkg, path, arity } of classMembers) {
    const [head, ...rest] = path.split('.');
    let value: unknown = loaded.get(pkg)?.[head!];
    for (const key of rest) value = value === undefined || value === null ? undefined : (value as Record<string, unknown>)[key];
    if (typeof value !== 'function') problems.push(`${at}: ${pkg} ${path} is no longer a method`);
    else if (value.length !== arity) problems.push(`${at}: ${pkg} ${path} now declares ${describeArity(value.length)} (recorded: ${arity})`);
  }

  const { RemoteGraphQLDataSource } = fromGateway(gatewayMain) as { RemoteGraphQLDataSource?: { new (): unknown; prototype: Record<string, unknown> } };
  if (typeof RemoteGraphQLDataSource !== 'function') {
    problems.push(`${at}: RemoteGraphQLDataSource is no longer exported (gateway/src/subgraphDataSource.ts extends it)`);
    return problems;
  }
  for (const [method, arity] of Object.entries(dataSourceMethods)) {
    const value = RemoteGraphQLDataSource.prototype[method];
    if (typeof value !== 'function') {
      problems.push(`${at}: RemoteGraphQLDataSource.prototype.${method} is no longer on the prototype (gateway/src/subgraphDataSource.ts ${method === 'sendRequest' ? 'replaces' : 'calls'} it)`);
    } else if (value.length !== arity) {
      problems.push(`${at}: RemoteGraphQLDataSource.prototype.${method} now declares ${describeArity(value.length)} (recorded: ${arity}; gateway/src/subgraphDataSource.ts relies on it)`);
    }
  }
  const original = RemoteGraphQLDataSource.prototype.sendRequest;
  if (typeof original === 'function') {
    const hash = sourceHash(original as (...args: never[]) => unknown);
    if (hash !== expectedSendRequestHash) {
      problems.push(
        `${at}: RemoteGraphQLDataSource.prototype.sendRequest's source changed (sha256 ${hash.slice(0, 16)}, recorded ${expectedSendRequestHash.slice(0, 16)}): ` +
          'read the new one in node_modules/@apollo/gateway/dist/datasources/RemoteGraphQLDataSource.js, carry the change into gateway/src/subgraphDataSource.ts, then record the new hash in gateway/test/apolloInternalsShapes.ts',
      );
    }
  }
  return problems;
}
