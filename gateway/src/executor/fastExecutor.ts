import { buildOperationContext, type ApolloGateway, type GraphQLDataSource } from '@apollo/gateway';
import type { Operation, Schema } from '@apollo/federation-internals';
import type { PlanNode, QueryPlan, QueryPlannerConfig, SubscriptionNode } from '@apollo/query-planner';
import type {
  GatewayExecutionResult,
  GatewayExecutor,
  GatewayGraphQLRequestContext,
  GatewayInterface,
} from '@apollo/server-gateway-interface';
import type { GraphQLError as GraphQLErrorType, GraphQLSchema, OperationDefinitionNode } from 'graphql';
import type { Logger } from '@mercado/service-kit';
import { computeResponse, federation, graphql, queryPlanner } from './apolloInternals.ts';

const { getVariableValues, GraphQLError, Kind } = graphql;
import { executePlan } from './planExecution.ts';
import { inOperationTrace, planSpan, type OperationTrace } from '../observability.ts';
import { compileShaping, UnsupportedOperation, type CompiledShaping } from './responseShaper.ts';

export interface FastExecutorOptions {
  /** The data source of each subgraph by name: the ones the gateway's `buildService` built. */
  dataSource(name: string): GraphQLDataSource | undefined;
  /** The same planner configuration the ApolloGateway was given, if any. */
  queryPlannerConfig?: QueryPlannerConfig;
  /**
   * Told how each operation ran: `fast`, `fast-apollo-shaping` (the fast path, shaped by Apollo's
   * `computeResponse` because the data needed correcting) or `apollo` (Apollo's executor).
   */
  observe?(path: ExecutionPath): void;
  /** Operations kept compiled (plan + shaping), least recently used dropped first; default 1000. */
  maxOperations?: number;
  logger: Logger;
}

export type ExecutionPath = 'fast' | 'fast-apollo-shaping' | 'apollo';

/** What one operation (document + operation name) compiles to, once. */
interface CompiledOperation {
  operationDefinition: OperationDefinitionNode;
  operation: Operation;
  plan: QueryPlan & { node?: PlanNode };
  shaping: CompiledShaping;
}

/** Everything that depends on the supergraph, rebuilt when it changes. */
interface SchemaState {
  apiSchema: GraphQLSchema;
  supergraphSchema: GraphQLSchema;
  federatedApiSchema: Schema;
  planner: InstanceType<typeof queryPlanner.QueryPlanner>;
  /** Compiled operations by query hash and operation name; `null` runs on Apollo's executor. */
  operations: Map<string, CompiledOperation | null>;
}

/**
 * Wraps an ApolloGateway so that its operations run on a leaner executor: the same query plan
 * from the same planner, its fetches sent through the same data sources, the answers merged as
 * Apollo merges them, then the response shaped by a walk compiled once per operation (see
 * responseShaper.ts) instead of one that consults the schema for every value. Per operation the
 * plan and the compiled shaping are cached together.
 *
 * Anything this path does not take on runs on ApolloGateway's own executor, unchanged: plans
 * with @defer or subscriptions, introspection, operations Apollo would refuse (unknown operation
 * name, bad variables), requests that capture usage traces or ask for the query plan, and any
 * response that `computeResponse` would have to correct (that one is shaped by Apollo's
 * `computeResponse` itself, on the same merged data).
 */
export function withFastExecutor(gateway: ApolloGateway, options: FastExecutorOptions): GatewayInterface {
  const maxOperations = options.maxOperations ?? 1000;
  let state: SchemaState | undefined;

  // Registered before Apollo Server loads the gateway, so the first schema is seen too.
  gateway.onSchemaLoadOrUpdate(({ apiSchema, coreSupergraphSdl }) => {
    try {
      const supergraph = federation.Supergraph.build(coreSupergraphSdl, { validateSupergraph: false });
      state = {
        apiSchema,
        supergraphSchema: supergraph.schema.toGraphQLJSSchema(),
        federatedApiSchema: supergraph.apiSchema(),
        planner: new queryPlanner.QueryPlanner(supergraph, options.queryPlannerConfig),
        operations: new Map(),
      };
    } catch (error) {
      // Apollo's executor keeps serving the new schema; the fast path stays off until the next one.
      state = undefined;
      options.logger.error({ err: error }, 'fast executor: cannot build its planner; operations run on Apollo\'s executor');
    }
  });

  function compile(current: SchemaState, requestContext: GatewayGraphQLRequestContext): CompiledOperation | null {
    const { document, request } = requestContext;
    try {
      const { operation: operationDefinition, fragments } = buildOperationContext({
        schema: current.apiSchema,
        operationDocument: document,
        operationName: request.operationName,
      });
      if (operationDefinition.operation === 'subscription') throw new UnsupportedOperation('subscription');
      // Built as ApolloGateway builds them: one operation to plan, from the whole document...
      const planned = federation.operationFromDocument(current.federatedApiSchema, document, { operationName: request.operationName });
      // ...and one to shape the response by, from the operation and its fragments (executeQueryPlan).
      const operation = federation.operationFromDocument(
        current.federatedApiSchema,
        { kind: Kind.DOCUMENT, definitions: [operationDefinition, ...Object.values(fragments)] },
        { validate: false },
      );
      // The same two switches ApolloGateway reads from its environment when it plans.
      const plan = planSpan(() =>
        current.planner.buildQueryPlan(planned, {
          recursiveSelectionsLimitDisabled: process.env.APOLLO_DISABLE_SECURITY_RECURSIVE_SELECTIONS_CHECK === 'true',
          nonLocalSelectionsLimitDisabled: process.env.APOLLO_DISABLE_SECURITY_NON_LOCAL_SELECTIONS_CHECK === 'true',
        }),
      );
      assertPlanSupported(plan.node);
      return { operationDefinition, operation, plan: plan as CompiledOperation['plan'], shaping: compileShaping(operation) };
    } catch (error) {
      // Apollo's executor gives the very same answer or error for whatever stopped us here.
      options.logger.debug({ reason: (error as Error).message, operationName: request.operationName }, 'fast executor: operation runs on Apollo\'s executor');
      return null;
    }
  }

  function compiledFor(current: SchemaState, requestContext: GatewayGraphQLRequestContext): CompiledOperation | null {
    const key = `${requestContext.queryHash}\u0000${requestContext.request.operationName ?? ''}`;
    let compiled = current.operations.get(key);
    if (compiled === undefined) {
      compiled = compile(current, requestContext);
      if (current.operations.size >= maxOperations) current.operations.delete(current.operations.keys().next().value!);
    } else {
      current.operations.delete(key);
    }
    current.operations.set(key, compiled);
    return compiled;
  }

  const observe = options.observe ?? (() => {});
  const onApollo = (requestContext: GatewayGraphQLRequestContext, apolloExecutor: GatewayExecutor) => {
    observe('apollo');
    return apolloExecutor(requestContext);
  };

  async function execute(requestContext: GatewayGraphQLRequestContext, apolloExecutor: GatewayExecutor): Promise<GatewayExecutionResult> {
    const current = state;
    if (!current || requestContext.metrics?.captureTraces || requestContext.request.http?.headers.has('apollo-query-plan-experimental')) {
      return onApollo(requestContext, apolloExecutor);
    }
    const compiled = compiledFor(current, requestContext);
    if (!compiled) return onApollo(requestContext, apolloExecutor);
    const { variableDefinitions } = compiled.operationDefinition;
    const variables = requestContext.request.variables;
    if (variableDefinitions?.length && getVariableValues(current.apiSchema, variableDefinitions, variables || {}).errors) {
      return onApollo(requestContext, apolloExecutor);
    }

    const errors: unknown[] = [];
    const merged: Record<string, unknown> = Object.create(null);
    if (compiled.plan.node) {
      await executePlan(
        { requestContext, dataSource: options.dataSource, supergraphSchema: current.supergraphSchema, variableDefinitions: compiled.operation.variableDefinitions, errors },
        compiled.plan.node,
        merged,
      );
    }
    return shapeResult(compiled, merged, variables, errors, requestContext);
  }

  /** executeQueryPlan's post-processing: the shaped data with the fetch errors, or what went wrong shaping it. */
  function shapeResult(
    compiled: CompiledOperation,
    merged: Record<string, unknown>,
    variables: Record<string, unknown> | undefined,
    errors: unknown[],
    requestContext: GatewayGraphQLRequestContext,
  ): GatewayExecutionResult {
    let data: Record<string, unknown> | null | undefined;
    try {
      data = compiled.shaping.shape(merged, variables);
      observe(data === undefined ? 'fast-apollo-shaping' : 'fast');
      if (data === undefined) {
        const computed = computeResponse({
          operation: compiled.operation,
          variables,
          input: merged,
          introspectionHandling: () => {
            throw new Error('introspection is not executed by the fast executor');
          },
        });
        data = computed.data;
        if (errors.length === 0 && computed.errors.length > 0) return { extensions: { valueCompletion: computed.errors }, data };
      }
    } catch (error) {
      if (error instanceof GraphQLError) return { errors: [error] };
      if (error instanceof Error) return { errors: [new GraphQLError(error.message, { originalError: error })] };
      (requestContext.logger ?? console).error('Unexpected error during query plan execution: ' + error);
      return { errors: [new GraphQLError('Unexpected error during query plan execution')] };
    }
    return errors.length === 0 ? { data } : { errors: errors as GraphQLErrorType[], data };
  }

  return {
    async load(loadOptions) {
      const loaded = await gateway.load(loadOptions);
      const apolloExecutor = loaded.executor;
      if (!apolloExecutor) return loaded;
      // In the operation's trace (gatewayObservability), so that planning and fetches are its children.
      return { ...loaded, executor: (requestContext) => inOperationTrace(requestContext.context as OperationTrace, () => execute(requestContext, apolloExecutor)) };
    },
    onSchemaLoadOrUpdate: (callback) => gateway.onSchemaLoadOrUpdate(callback),
    stop: () => gateway.stop(),
  };
}

/** Throws for what the fast path does not execute: @defer, subscriptions, @fromContext rewrites. */
function assertPlanSupported(node: PlanNode | SubscriptionNode | undefined): void {
  if (!node) return;
  switch (node.kind) {
    case 'Sequence':
    case 'Parallel':
      return node.nodes.forEach(assertPlanSupported);
    case 'Flatten':
      return assertPlanSupported(node.node);
    case 'Condition':
      assertPlanSupported(node.ifClause);
      return assertPlanSupported(node.elseClause);
    case 'Fetch':
      if (node.contextRewrites?.length) throw new UnsupportedOperation('context rewrites');
      return;
    default:
      throw new UnsupportedOperation(`${node.kind} plan node`);
  }
}
