/**
 * The fast executor must answer exactly as ApolloGateway's own executor: the same `data`, the
 * same `errors` (messages, paths, codes), the same extensions, byte for byte. Each operation runs
 * through two Apollo servers over the same in-process subgraphs, one per executor, and the
 * serialized answers are compared. Subgraphs make up deterministic data, with faults in some
 * suites: resolvers that throw, and answers corrupted as a misbehaving subgraph would send them.
 * Each suite also checks that the fast path really ran (and where it handed over to Apollo).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { ApolloGateway, type GraphQLDataSource } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import gql from 'graphql-tag';
import type { GraphQLInputType, GraphQLSchema } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '@mercado/service-kit';
import { federation, graphql } from '../src/executor/apolloInternals.ts';
import { withFastExecutor, type ExecutionPath } from '../src/executor/fastExecutor.ts';
import { localDataSources, mockSubgraphSchema, type MockOptions } from './parity/mockSubgraphs.ts';
import { randomOperation, random, valueFor } from './parity/randomOperations.ts';
import { composeShopSupergraph, shopOperations, shopSubgraphs } from './parity/shopGraph.ts';

process.env.APOLLO_TELEMETRY_DISABLED = '1';

// The gateway's own copy of graphql-js (the schemas here are built with it).
const { getOperationAST, isNonNullType, parse, typeFromAST, validate } = graphql;

interface Pair {
  apiSchema: GraphQLSchema;
  paths: Record<ExecutionPath, number>;
  /** Both answers to one operation, serialized. */
  run(query: string, variables?: Record<string, unknown>, operationName?: string): Promise<{ apollo: string; fast: string }>;
  stop(): Promise<void>;
}

async function serverPair(supergraphSdl: string, typeDefs: Record<string, ReturnType<typeof gql>>, mock: MockOptions, corruptEvery = 0): Promise<Pair> {
  const schemas = Object.fromEntries(Object.entries(typeDefs).map(([name, defs]) => [name, mockSubgraphSchema(defs, mock)]));
  const paths: Record<ExecutionPath, number> = { fast: 0, 'fast-apollo-shaping': 0, apollo: 0 };
  const start = async (fast: boolean) => {
    const sources = localDataSources(schemas, corruptEvery);
    const gateway = new ApolloGateway({ supergraphSdl, buildService: ({ name }) => sources.get(name) as GraphQLDataSource });
    const server = new ApolloServer({
      gateway: fast
        ? withFastExecutor(gateway, { dataSource: (name) => sources.get(name), logger: createLogger('parity', 'silent'), observe: (path) => paths[path]++ })
        : gateway,
      includeStacktraceInErrorResponses: false,
    });
    await server.start();
    return server;
  };
  const [apollo, fast] = [await start(false), await start(true)];
  const answer = async (server: ApolloServer, query: string, variables?: Record<string, unknown>, operationName?: string) => {
    const response = await server.executeOperation({ query, variables, operationName });
    if (response.body.kind !== 'single') throw new Error('expected a single result');
    return JSON.stringify(response.body.singleResult);
  };
  return {
    apiSchema: federation.Supergraph.build(supergraphSdl).apiSchema().toGraphQLJSSchema(),
    paths,
    run: async (query, variables, operationName) => ({
      apollo: await answer(apollo, query, variables, operationName),
      fast: await answer(fast, query, variables, operationName),
    }),
    stop: async () => {
      await apollo.stop();
      await fast.stop();
    },
  };
}

/** Variables for an operation's definitions, made up from their types (some optional ones left out). */
function variablesFor(schema: GraphQLSchema, query: string, seed: number): Record<string, unknown> {
  const pick = random(seed);
  const variables: Record<string, unknown> = {};
  for (const definition of getOperationAST(parse(query))?.variableDefinitions ?? []) {
    const type = typeFromAST(schema, definition.type) as GraphQLInputType | undefined;
    if (!type || (!isNonNullType(type) && pick() < 0.3)) continue;
    variables[definition.variable.name.value] = valueFor(type, pick);
  }
  return variables;
}

async function expectSameAnswers(pair: Pair, query: string, variables?: Record<string, unknown>, operationName?: string) {
  const { apollo, fast } = await pair.run(query, variables, operationName);
  expect(fast).toBe(apollo);
  return JSON.parse(apollo) as { data?: unknown; errors?: unknown[] };
}

const shopSupergraph = composeShopSupergraph();

describe('the fast executor on a graph with interfaces, unions, @interfaceObject, @requires and @provides', () => {
  describe('with well-behaved subgraphs', () => {
    let pair: Pair;
    beforeAll(async () => {
      pair = await serverPair(shopSupergraph, shopSubgraphs, { nullEvery: 5 });
    });
    afterAll(() => pair?.stop());

    it.each(shopOperations)('answers "$name" as Apollo does', async ({ query, variables, operationName }) => {
      const before = pair.paths.fast;
      const answer = await expectSameAnswers(pair, query, variables, operationName);
      expect(answer.errors).toBeUndefined();
      expect(answer.data).toBeTruthy();
      expect(pair.paths.fast).toBe(before + 1);
    });

    it('answers 120 random operations as Apollo does, on its own path', async () => {
      let withData = 0;
      for (let seed = 1; seed <= 120; seed++) {
        const query = randomOperation(pair.apiSchema, seed);
        expect(validate(pair.apiSchema, parse(query))).toEqual([]);
        const answer = await expectSameAnswers(pair, query);
        expect(answer.errors).toBeUndefined();
        if (answer.data) withData++;
      }
      // A few come back as `data: null` without an error, from Apollo too: the __typename of an
      // @interfaceObject entity names its interface, which computeResponse refuses to output.
      expect(withData).toBeGreaterThan(110);
      expect(pair.paths.fast).toBeGreaterThan(110);
      expect(pair.paths.apollo).toBe(0);
    });

    it('hands introspection, unknown operation names and bad variables to Apollo, with the same answers', async () => {
      const before = pair.paths.apollo;
      await expectSameAnswers(pair, '{ __schema { queryType { name } } topProducts { name } }');
      await expectSameAnswers(pair, 'query A { me { id } }', undefined, 'B');
      await expectSameAnswers(pair, 'query P($first: Int) { topProducts(first: $first) { name } }', { first: 'many' });
      await expectSameAnswers(pair, 'query C($s: Boolean!) { me { id @skip(if: $s) } }', {});
      expect(pair.paths.apollo).toBe(before + 4);
    });
  });

  describe('with subgraphs whose resolvers fail', () => {
    let pair: Pair;
    beforeAll(async () => {
      pair = await serverPair(shopSupergraph, shopSubgraphs, { nullEvery: 6, throwEvery: 9 });
    });
    afterAll(() => pair?.stop());

    it('answers every operation with the same partial data and the same errors', async () => {
      let withErrors = 0;
      for (const { query, variables, operationName } of shopOperations) {
        if ((await expectSameAnswers(pair, query, variables, operationName)).errors) withErrors++;
      }
      for (let seed = 200; seed < 300; seed++) {
        if ((await expectSameAnswers(pair, randomOperation(pair.apiSchema, seed))).errors) withErrors++;
      }
      expect(withErrors).toBeGreaterThan(20);
      // Errors from subgraphs are merged on the fast path; nulls where the API promises a value
      // are shaped by Apollo's computeResponse.
      expect(pair.paths.fast).toBeGreaterThan(20);
      expect(pair.paths['fast-apollo-shaping']).toBeGreaterThan(5);
    });
  });

  describe('with subgraphs that send malformed answers', () => {
    let pair: Pair;
    beforeAll(async () => {
      pair = await serverPair(shopSupergraph, shopSubgraphs, { nullEvery: 7 }, 3);
    });
    afterAll(() => pair?.stop());

    it('answers with the same corrections and errors as Apollo', async () => {
      for (const { query, variables, operationName } of shopOperations) await expectSameAnswers(pair, query, variables, operationName);
      for (let seed = 400; seed < 500; seed++) await expectSameAnswers(pair, randomOperation(pair.apiSchema, seed));
      expect(pair.paths['fast-apollo-shaping']).toBeGreaterThan(10);
    });
  });
});

describe("the fast executor on Mercado's graph", () => {
  const root = new URL('../../', import.meta.url);
  const supergraphSdl = readFileSync(new URL('gateway/supergraph.graphql', root), 'utf8');
  const subgraphNames = readdirSync(new URL('subgraphs/', root)).filter((name) => /^[a-z]+$/.test(name));
  const typeDefs = Object.fromEntries(subgraphNames.map((name) => [name, gql(readFileSync(new URL(`subgraphs/${name}/schema.graphql`, root), 'utf8'))]));
  const operationFiles = [
    ...readdirSync(new URL('gateway/operations/', root)).map((file) => new URL(`gateway/operations/${file}`, root)),
    ...readdirSync(new URL('e2e/test/operations/', root)).map((file) => new URL(`e2e/test/operations/${file}`, root)),
  ]
    .filter((url) => url.pathname.endsWith('.graphql'))
    // Subscriptions are served by gateway/src/subscriptions (as queries), never by an executor.
    .filter((url) => !/^\s*subscription\b/.test(readFileSync(url, 'utf8')))
    // @defer is the gateway's own (gateway/src/defer); the parity pair is Apollo's alone.
    .filter((url) => !readFileSync(url, 'utf8').includes('@defer'));

  for (const [suite, mock] of [
    ['well-behaved', { nullEvery: 5 }],
    ['failing', { nullEvery: 6, throwEvery: 8 }],
  ] as const) {
    describe(`with ${suite} subgraphs`, () => {
      let pair: Pair;
      beforeAll(async () => {
        pair = await serverPair(supergraphSdl, typeDefs, mock);
      });
      afterAll(() => pair?.stop());

      it("answers every operation of Mercado's clients as Apollo does", async () => {
        expect(operationFiles.length).toBeGreaterThan(10);
        for (const [i, file] of operationFiles.entries()) {
          const query = readFileSync(file, 'utf8');
          for (const seed of [i, i + 100]) {
            const answer = await expectSameAnswers(pair, query, variablesFor(pair.apiSchema, query, seed));
            if (suite === 'well-behaved') expect(answer.errors).toBeUndefined();
          }
        }
        expect(pair.paths.fast).toBeGreaterThan(operationFiles.length);
      });

      it('answers 100 random operations as Apollo does', async () => {
        for (let seed = 1000; seed < 1100; seed++) await expectSameAnswers(pair, randomOperation(pair.apiSchema, seed, 6));
        expect(pair.paths.apollo).toBe(0);
      });
    });
  }
});
