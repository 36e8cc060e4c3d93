import { buildSchema, parse, specifiedRules, validate } from 'graphql';
import { describe, expect, it } from 'vitest';
import { defaultOperationLimits, operationLimits } from './limits.ts';

const schema = buildSchema(`
  type Query { node(id: ID): Node, nodes(first: Int): [Node!]! }
  type Node { id: ID!, name: String!, parent: Node, children(first: Int): [Node!]! }
`);
const { validationRules, parseOptions } = operationLimits(defaultOperationLimits);
const problems = (query: string) => validate(schema, parse(query, parseOptions), [...specifiedRules, ...validationRules]);
const nested = (depth: number) => `{ node { ${'parent { '.repeat(depth - 2)}id${' }'.repeat(depth - 2)} } }`;

describe('operation limits', () => {
  it('accepts an operation within every limit', () => {
    expect(problems(`{ a: node(id: "1") { name @include(if: true) children(first: 10) { id } } b: nodes(first: 20) { id } }`)).toEqual([]);
    expect(problems(nested(defaultOperationLimits.maxDepth))).toEqual([]);
  });

  it.each([
    ['depth', nested(defaultOperationLimits.maxDepth + 1), /depth limit of 12 exceeded, found 13/],
    ['aliases', `{ ${Array.from({ length: 16 }, (_, i) => `a${i}: node { id }`).join(' ')} }`, /Aliases limit of 15 exceeded, found 16/],
    ['directives', `{ node { ${'id @include(if: true) '.repeat(11)} } }`, /Directives limit of 10 exceeded, found 11/],
  ])('refuses an operation over the %s limit as a validation failure with a plain message', (_what, query, message) => {
    const [error, ...rest] = problems(query);
    expect(rest).toEqual([]);
    expect(error!.message).toMatch(message);
    expect(error!.message).not.toMatch(/Syntax Error/);
    expect(error!.extensions.code).toBe('GRAPHQL_VALIDATION_FAILED');
  });

  it('stops parsing a document past the token limit', () => {
    const query = `{ ${'node { id } '.repeat(600)} }`;
    expect(() => parse(query, parseOptions)).toThrow(/more that 2000 tokens/);
    expect(() => parse(query)).not.toThrow();
  });
});
