/**
 * Random but valid operations over a schema, from a seeded generator: fields with and without
 * aliases, arguments, inline fragments on every possible type of an abstract field, fragments
 * without a type condition, literal @skip/@include, __typename here and there. Response names
 * are never reused within a selection set (the same name gets an alias instead), so what it
 * writes always validates.
 */
import type { GraphQLArgument, GraphQLCompositeType, GraphQLInputType, GraphQLSchema } from 'graphql';
import { graphql } from '../../src/executor/apolloInternals.ts';

const { getNamedType, isAbstractType, isCompositeType, isEnumType, isInputObjectType, isInterfaceType, isLeafType, isListType, isNonNullType, isObjectType, isScalarType } = graphql;

/** A small deterministic PRNG (mulberry32). */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A literal for an argument or a variable of this type. */
export function literalFor(type: GraphQLInputType, pick: () => number): string {
  if (isNonNullType(type)) return literalFor(type.ofType, pick);
  if (isListType(type)) return `[${literalFor(type.ofType, pick)}]`;
  if (isEnumType(type)) return type.getValues()[Math.floor(pick() * type.getValues().length)]!.name;
  if (isInputObjectType(type)) {
    const fields = Object.values(type.getFields()).filter((field) => isNonNullType(field.type) || pick() < 0.3);
    return `{ ${fields.map((field) => `${field.name}: ${literalFor(field.type, pick)}`).join(', ')} }`;
  }
  if (isScalarType(type)) {
    switch (type.name) {
      case 'Int':
        return String(1 + Math.floor(pick() * 5));
      case 'Float':
        return '1.5';
      case 'Boolean':
        return pick() < 0.5 ? 'true' : 'false';
      case 'ID':
        return `"id-${Math.floor(pick() * 7)}"`;
      default:
        return '"x"';
    }
  }
  return 'null';
}

/** A JSON value for a variable of this type. */
export function valueFor(type: GraphQLInputType, pick: () => number): unknown {
  if (isNonNullType(type)) return valueFor(type.ofType, pick);
  if (isListType(type)) return [valueFor(type.ofType, pick)];
  if (isEnumType(type)) return type.getValues()[Math.floor(pick() * type.getValues().length)]!.name;
  if (isInputObjectType(type)) {
    return Object.fromEntries(
      Object.values(type.getFields())
        .filter((field) => isNonNullType(field.type) || pick() < 0.3)
        .map((field) => [field.name, valueFor(field.type, pick)]),
    );
  }
  if (isScalarType(type)) {
    switch (type.name) {
      case 'Int':
        return 1 + Math.floor(pick() * 5);
      case 'Float':
        return 1.5;
      case 'Boolean':
        return pick() < 0.5;
      case 'ID':
        return `id-${Math.floor(pick() * 7)}`;
      default:
        return 'x';
    }
  }
  return null;
}

export function randomOperation(schema: GraphQLSchema, seed: number, maxDepth = 5): string {
  const pick = random(seed);
  let aliasCount = 0;

  const args = (list: readonly GraphQLArgument[]) => {
    const chosen = list.filter((arg) => isNonNullType(arg.type) || pick() < 0.4);
    return chosen.length ? `(${chosen.map((arg) => `${arg.name}: ${literalFor(arg.type, pick)}`).join(', ')})` : '';
  };
  const directive = () => {
    const roll = pick();
    if (roll < 0.06) return ' @include(if: false)';
    if (roll < 0.12) return ' @skip(if: false)';
    if (roll < 0.15) return ' @skip(if: true)';
    return '';
  };

  function selectionSet(type: GraphQLCompositeType, depth: number, used: Set<string>): string {
    const parts: string[] = [];
    if (pick() < 0.3) parts.push(pick() < 0.5 ? '__typename' : `t${++aliasCount}: __typename`);
    if (isObjectType(type) || isInterfaceType(type)) {
      const fields = Object.values(type.getFields());
      const count = 1 + Math.floor(pick() * Math.min(4, fields.length));
      for (let i = 0; i < count; i++) {
        const field = fields[Math.floor(pick() * fields.length)]!;
        const named = getNamedType(field.type);
        if (!isLeafType(named) && depth >= maxDepth) continue;
        let responseName = field.name;
        let alias = '';
        if (used.has(responseName) || pick() < 0.15) {
          responseName = `a${++aliasCount}`;
          alias = `${responseName}: `;
        }
        used.add(responseName);
        const sub = isCompositeType(named) ? ` { ${selectionSet(named, depth + 1, new Set())} }` : '';
        parts.push(`${alias}${field.name}${args(field.args)}${directive()}${sub}`);
      }
    }
    if (isAbstractType(type)) {
      for (const possible of schema.getPossibleTypes(type)) {
        if (pick() < 0.6) parts.push(`... on ${possible.name}${directive()} { ${selectionSet(possible, depth, used)} }`);
      }
    }
    if (pick() < 0.1) parts.push(`...${directive()} { ${selectionSet(type, depth, used)} }`);
    if (parts.length === 0) parts.push('__typename');
    return parts.join(' ');
  }

  return `query Random${seed} { ${selectionSet(schema.getQueryType()!, 1, new Set())} }`;
}
