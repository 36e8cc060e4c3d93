import { createRequire } from 'node:module';
import type * as FederationInternals from '@apollo/federation-internals';
import type * as QueryPlanner from '@apollo/query-planner';
import type * as GraphQL from 'graphql';
import type { GraphQLError, GraphQLSchema } from 'graphql';

/**
 * The parts of Apollo's federation packages the fast executor builds on, loaded exactly as
 * @apollo/gateway loads them: the planner and the schema model are the very modules (and
 * versions) the gateway itself uses, so a plan, an operation or a type from one is valid in the
 * other. The helpers from @apollo/gateway's own files are its result shaping, data rewrites and
 * path hydration: the fast executor falls back on them wherever it does not take its own path.
 */
const requireFromGateway = createRequire(createRequire(import.meta.url).resolve('@apollo/gateway'));

export const federation = requireFromGateway('@apollo/federation-internals') as typeof FederationInternals;
/**
 * graphql-js as the gateway loads it. A bundler or test runner may resolve a bare `graphql`
 * import to its ES module build, a second copy whose GraphQLError and types the gateway's
 * copy does not recognise; this one is always the gateway's.
 */
export const graphql = requireFromGateway('graphql') as typeof GraphQL;
export const queryPlanner = requireFromGateway('@apollo/query-planner') as typeof QueryPlanner;

type Operation = FederationInternals.Operation;

/** @apollo/gateway's `computeResponse` (dist/resultShaping.js): the reference result shaping. */
export const computeResponse = (requireFromGateway('./resultShaping.js') as {
  computeResponse(args: {
    operation: Operation;
    variables: Record<string, unknown> | undefined;
    input: Record<string, unknown>;
    introspectionHandling: (selection: unknown) => unknown;
  }): { data: Record<string, unknown> | null | undefined; errors: GraphQLError[] };
}).computeResponse;

/** @apollo/gateway's data rewrites (dist/dataRewrites.js), applied to fetch inputs and outputs. */
export const dataRewrites = requireFromGateway('./dataRewrites.js') as {
  applyRewrites(schema: GraphQLSchema, rewrites: QueryPlanner.FetchDataRewrite[] | undefined, value: unknown): void;
  isObjectOfType(schema: GraphQLSchema, obj: Record<string, unknown>, typeCondition: string, defaultOnUnknownObjectType?: boolean): boolean;
};

/** @apollo/gateway's `generateHydratedPaths` (dist/executeQueryPlan.js): where an entity error belongs. */
export const generateHydratedPaths = (requireFromGateway('./executeQueryPlan.js') as {
  generateHydratedPaths(parent: Array<string | number>, path: Array<string | number>, data: unknown, result: Array<Array<string | number>>): void;
}).generateHydratedPaths;
