/**
 * Subgraphs for executor parity tests: any subgraph schema, answered in-process by resolvers
 * that make up data deterministically from where they are (type, field, arguments and the
 * parent's identity), so that two gateways asking the same questions get the same answers.
 * Faults are deterministic too: resolvers that throw, and a data source that corrupts answers
 * the way a misbehaving subgraph would (wrong types, unknown __typename, missing fields).
 */
import { LocalGraphQLDataSource, type GraphQLDataSource } from '@apollo/gateway';
import { buildSubgraphSchema } from '@apollo/subgraph';
import type { DocumentNode, GraphQLField, GraphQLOutputType, GraphQLResolveInfo, GraphQLSchema } from 'graphql';
import { graphql } from '../../src/executor/apolloInternals.ts';

// The gateway's own copy of graphql-js, the one @apollo/subgraph builds schemas with.
const { GraphQLError, isAbstractType, isEnumType, isListType, isNonNullType, isObjectType, isScalarType } = graphql;

const SEED = Symbol('seed');

export interface MockOptions {
  /** One resolver call in this many throws (0: never). */
  throwEvery?: number;
  /** One nullable field in this many is null (0: never). */
  nullEvery?: number;
}

/** FNV-1a: a stable number for a string. */
export function hash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

function stable(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'undefined';
  if (Array.isArray(value)) return `[${value.map(stable).join(',')}]`;
  return `{${Object.keys(value)
    .sort()
    .map((key) => `${key}:${stable((value as Record<string, unknown>)[key])}`)
    .join(',')}}`;
}

/** Who the parent is: the seed it was made with, or (an entity representation) its key fields. */
function identity(parent: unknown): string {
  if (parent && typeof parent === 'object') {
    const seed = (parent as { [SEED]?: string })[SEED];
    if (seed !== undefined) return seed;
    return stable(parent);
  }
  return 'root';
}

function makeUp(type: GraphQLOutputType, seed: string, schema: GraphQLSchema, options: MockOptions, nullable = true): unknown {
  const h = hash(seed);
  if (isNonNullType(type)) return makeUp(type.ofType, seed, schema, options, false);
  if (nullable && options.nullEvery && h % options.nullEvery === 0) return null;
  if (isListType(type)) {
    const length = h % 4;
    return Array.from({ length }, (_, i) => makeUp(type.ofType, `${seed}[${i}]`, schema, options));
  }
  if (isEnumType(type)) {
    const values = type.getValues();
    return values[h % values.length]!.value;
  }
  if (isScalarType(type)) {
    switch (type.name) {
      case 'ID':
        return `id-${h % 7}`;
      case 'Int':
        return (h % 2000) - 500;
      case 'Float':
        return ((h % 10000) - 2000) / 8;
      case 'Boolean':
        return h % 2 === 0;
      case 'String':
        return `s${h % 97}`;
      default:
        return { custom: h % 13, at: `2026-01-0${(h % 9) + 1}` };
    }
  }
  if (isAbstractType(type)) {
    const possible = schema.getPossibleTypes(type);
    const concrete = possible[h % possible.length]!;
    return { __typename: concrete.name, [SEED]: `${seed}>${concrete.name}` };
  }
  return { [SEED]: seed };
}

/** A resolver for every field without one of its own: made-up data, or the parent's own value. */
function mockResolvers(schema: GraphQLSchema, options: MockOptions): void {
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type) || type.name.startsWith('__') || type.name === '_Service') continue;
    for (const field of Object.values(type.getFields()) as Array<GraphQLField<unknown, unknown>>) {
      if (field.resolve || field.name === '_entities' || field.name === '_service') continue;
      field.resolve = (parent: unknown, args: Record<string, unknown>, _context: unknown, info: GraphQLResolveInfo) => {
        // Key fields (and anything else) a representation or a made-up object already carries.
        if (parent && typeof parent === 'object' && Object.prototype.hasOwnProperty.call(parent, field.name)) {
          return (parent as Record<string, unknown>)[field.name];
        }
        const seed = `${identity(parent)}.${info.parentType.name}.${field.name}(${stable(args)})`;
        if (options.throwEvery && hash(`throw:${seed}`) % options.throwEvery === 0) {
          if (hash(seed) % 2 === 0) throw new GraphQLError(`made-up failure of ${info.parentType.name}.${field.name}`, { extensions: { code: 'MADE_UP' } });
          throw new Error(`plain failure of ${info.parentType.name}.${field.name}`);
        }
        return makeUp(field.type, seed, info.schema, options, !isNonNullType(field.type));
      };
    }
  }
}

/** A subgraph schema answered by made-up data. */
export function mockSubgraphSchema(typeDefs: DocumentNode, options: MockOptions = {}): GraphQLSchema {
  const schema = buildSubgraphSchema({ typeDefs });
  mockResolvers(schema, options);
  return schema;
}

/**
 * A data source that answers like `inner` but corrupts one answer in `every` (by the hash of the
 * answer): a leaf of the wrong type, an unknown `__typename`, a missing field, a null where the
 * subgraph promised a value, an array where an object belongs.
 */
export function corrupting(inner: GraphQLDataSource, every: number): GraphQLDataSource {
  return {
    async process(options) {
      const response = await inner.process(options);
      if (!response.data) return response;
      const text = JSON.stringify(response.data);
      if (hash(text) % every !== 0) return response;
      const data = JSON.parse(text) as Record<string, unknown>;
      corruptOne(data, hash(`corrupt:${text}`));
      return { ...response, data };
    },
  };
}

function corruptOne(data: Record<string, unknown>, h: number): void {
  const objects: Array<Record<string, unknown>> = [];
  const collect = (value: unknown) => {
    if (Array.isArray(value)) return value.forEach(collect);
    if (value && typeof value === 'object') {
      objects.push(value as Record<string, unknown>);
      Object.values(value).forEach(collect);
    }
  };
  collect(data);
  const target = objects[h % objects.length];
  if (!target) return;
  const keys = Object.keys(target);
  const key = keys[h % Math.max(keys.length, 1)];
  switch (h % 5) {
    case 0:
      if (key) target[key] = { not: 'a leaf' };
      break;
    case 1:
      target.__typename = 'NoSuchType';
      break;
    case 2:
      if (key) delete target[key];
      break;
    case 3:
      if (key) target[key] = null;
      break;
    default:
      if (key) target[key] = [target[key]];
  }
}

/** In-process data sources for subgraph schemas, by name. */
export function localDataSources(schemas: Record<string, GraphQLSchema>, corruptEvery = 0): Map<string, GraphQLDataSource> {
  return new Map(
    Object.entries(schemas).map(([name, schema]) => {
      const local = new LocalGraphQLDataSource(schema);
      return [name, corruptEvery ? corrupting(local, corruptEvery) : local];
    }),
  );
}
