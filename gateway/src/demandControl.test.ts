import { readFileSync } from 'node:fs';
import { getIntrospectionQuery, Kind, parse, type FragmentDefinitionNode, type OperationDefinitionNode } from 'graphql';
import { describe, expect, it } from 'vitest';
import { actualCost, costDirectivesFromSupergraph, estimateCost } from './demandControl.ts';
import { graphql } from './executor/apolloInternals.ts';

const supergraphSdl = readFileSync(new URL('../supergraph.graphql', import.meta.url), 'utf8');
const directives = costDirectivesFromSupergraph(supergraphSdl);
// Built by the gateway's copy of graphql-js, as the schema Apollo hands to plugins is.
const schema = graphql.buildSchema(supergraphSdl);

function parts(query: string) {
  const document = parse(query);
  const operation = document.definitions.find((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION)!;
  const fragments = Object.fromEntries(
    document.definitions.filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION).map((d) => [d.name.value, d]),
  );
  return { operation, fragments };
}
const cost = (query: string, variables: Record<string, unknown> = {}) => {
  const { operation, fragments } = parts(query);
  return estimateCost(schema, directives, operation, fragments, variables);
};

// The attack of issue 15: lists of lists sized by variables.
const nested = `query Nested($n: Int, $m: Int) { products(first: $n) { edges { node { name reviews(first: $m) { author { reviews(first: $m) { body } } } } } } }`;

describe('demand control', () => {
  it('reads @cost and @listSize from the composed supergraph', () => {
    expect(directives.listSizes.get('Query.products')).toEqual({ assumedSize: undefined, slicingArguments: ['first'], sizedFields: ['edges'], requireOneSlicingArgument: false });
    expect(directives.listSizes.get('Product.reviews')?.slicingArguments).toEqual(['first']);
    expect(directives.fieldWeights.get('Mutation.login')).toBe(50);
  });

  it('counts variables exactly as literals', () => {
    const literal = cost(nested.replace(/\$n\b(?!:)/g, '100').replace(/\$m\b(?!:)/g, '50'));
    expect(cost(nested, { n: 100, m: 50 })).toBe(literal);
    // The connection + 100 edges x (edge + node + 50 reviews x (review + author + 50 reviews)).
    expect(literal).toBe(1 + 100 * (1 + 1 + 50 * (1 + 1 + 50 * 1)));
  });

  it('counts fragments, inline fragments and the defaults of arguments and variables', () => {
    const viaFragments = `query Q($n: Int = 100) { products(first: $n) { ...Edges } } fragment Edges on ProductConnection { edges { node { ... on Product { reviews(first: 50) { body } } } } }`;
    expect(cost(viaFragments)).toBe(1 + 100 * (1 + 1 + 50));
    // products defaults to first: 20; reviews to first: 10.
    expect(cost('{ products { edges { node { reviews { body } } } } }')).toBe(1 + 20 * (1 + 1 + 10));
    expect(cost('query Q($skip: Boolean!) { products(first: 100) @skip(if: $skip) { edges { node { id } } } }', { skip: true })).toBe(0);
  });

  it('counts mutations from a base of 10 and honours @cost on fields', () => {
    expect(cost('mutation { login(email: "a@b.c", password: "x") { token } }')).toBe(10 + 50);
    expect(cost('{ products(first: 10) { totalCount } }')).toBe(1 + 5);
  });

  it('counts introspection like any other selection', () => {
    expect(cost('{ __schema { types { name fields { name type { name } } } } }')).toBe(1 + 10 * (1 + 10 * (1 + 1)));
    expect(cost(getIntrospectionQuery())).toBeGreaterThan(1000);
  });

  it('measures the actual cost of a response with the real list lengths', () => {
    const { operation, fragments } = parts('{ products(first: 2) { edges { node { reviews(first: 3) { body } } } } }');
    const data = { products: { edges: [{ node: { reviews: [{ body: 'a' }, { body: 'b' }] } }, { node: { reviews: [] } }] } };
    expect(actualCost(schema, directives, operation, fragments, {}, data)).toBe(1 + (1 + 1 + 2) + (1 + 1));
  });
});
