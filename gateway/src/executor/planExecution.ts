import type { GraphQLDataSource } from '@apollo/gateway';
import type { VariableDefinitions } from '@apollo/federation-internals';
import type { FetchNode, PlanNode, QueryPlanSelectionNode } from '@apollo/query-planner';
import type { GatewayGraphQLRequestContext } from '@apollo/server-gateway-interface';
import type { GraphQLError as GraphQLErrorType, GraphQLSchema } from 'graphql';
import { dataRewrites, federation, generateHydratedPaths, graphql, queryPlanner } from './apolloInternals.ts';

const { GraphQLError } = graphql;

/**
 * Runs a query plan's fetches and merges what the subgraphs answer into one tree of unshaped
 * data: @apollo/gateway's `executeNode`/`executeFetch` (executeQueryPlan.js) step for step, with
 * the same order of fetches, the same representations, the same merge and the same errors, minus
 * the tracing spans and usage-reporting traces (an operation whose traces are captured runs on
 * Apollo's executor instead). Paths are walked without copying arrays at every step.
 */
export interface PlanExecution {
  requestContext: GatewayGraphQLRequestContext;
  dataSource(name: string): GraphQLDataSource | undefined;
  /** The supergraph as graphql-js sees it: type conditions of representations and rewrites. */
  supergraphSchema: GraphQLSchema;
  /** The operation's variable definitions, for the plan's @skip/@include conditions. */
  variableDefinitions: VariableDefinitions;
  /** Errors of the fetches, in the order they arrived. */
  errors: unknown[];
}

type ResponsePath = Array<string | number>;

interface Cursor {
  path: ResponsePath;
  data: unknown;
  fullResult: Record<string, unknown>;
}

const hasOwn = (object: object, key: string): boolean => Object.prototype.hasOwnProperty.call(object, key);
const getOwn = (object: unknown, key: string): unknown => (hasOwn(object as object, key) ? (object as Record<string, unknown>)[key] : undefined);
const isObject = (value: unknown): value is Record<string, unknown> => value !== undefined && value !== null && typeof value === 'object' && !Array.isArray(value);

/** Executes the plan from the root; the unshaped data ends up in `root`. */
export async function executePlan(execution: PlanExecution, node: PlanNode, root: Record<string, unknown>): Promise<void> {
  await executeNode(execution, node, { path: [], data: root, fullResult: root });
}

async function executeNode(execution: PlanExecution, node: PlanNode, cursor: Cursor | undefined): Promise<void> {
  if (!cursor) return;
  switch (node.kind) {
    case 'Sequence':
      for (const child of node.nodes) await executeNode(execution, child, cursor);
      return;
    case 'Parallel':
      await Promise.all(node.nodes.map((child) => executeNode(execution, child, cursor)));
      return;
    case 'Flatten':
      return executeNode(execution, node.node, moveIntoCursor(cursor, node.path));
    case 'Fetch':
      try {
        await executeFetch(execution, node, cursor);
      } catch (error) {
        execution.errors.push(error);
      }
      return;
    case 'Condition': {
      const condition = queryPlanner.evaluateCondition(node, execution.variableDefinitions, execution.requestContext.request.variables);
      const branch = condition ? node.ifClause : node.elseClause;
      if (branch) await executeNode(execution, branch, cursor);
      return;
    }
    case 'Defer':
      // Plans with @defer never get here (they run on Apollo's executor, which refuses them too).
      throw new Error('@defer support is not available in the gateway');
  }
}

function moveIntoCursor(cursor: Cursor, path: ResponsePath): Cursor | undefined {
  const data = flattenResultsAtPath(cursor.data, path, 0);
  return data ? { path: cursor.path.concat(path), data, fullResult: cursor.fullResult } : undefined;
}

/** The values at `path` (`@` for every element of a list), flattened one level per list. */
function flattenResultsAtPath(value: unknown, path: ResponsePath, from: number): unknown {
  if (from === path.length) return value;
  if (value === undefined || value === null) return value;
  const current = path[from];
  if (current === '@') {
    if (!Array.isArray(value)) return (value as { flatMap(f: (element: unknown) => unknown): unknown }).flatMap((element) => flattenResultsAtPath(element, path, from + 1));
    const flattened: unknown[] = [];
    for (const element of value) {
      const inner = flattenResultsAtPath(element, path, from + 1);
      if (Array.isArray(inner)) for (const item of inner) flattened.push(item);
      else flattened.push(inner);
    }
    return flattened;
  }
  if (typeof current !== 'string') throw new Error(`Unexpected ${typeof current} found in path`);
  if (Array.isArray(value)) throw new Error(`Unexpected array in result for path element ${current}`);
  return flattenResultsAtPath(getOwn(value, current), path, from + 1);
}

async function executeFetch(execution: PlanExecution, fetch: FetchNode, cursor: Cursor): Promise<void> {
  const service = execution.dataSource(fetch.serviceName);
  if (!service) throw new Error(`Couldn't find service with name "${fetch.serviceName}"`);
  const entities: unknown[] = Array.isArray(cursor.data) ? cursor.data.filter((entity) => entity !== null && entity !== undefined) : [cursor.data];
  if (entities.length < 1) return;

  const variables: Record<string, unknown> = Object.create(null);
  const provided = execution.requestContext.request.variables;
  for (const name of fetch.variableUsages ?? []) {
    if (provided && hasOwn(provided, name) && typeof provided[name] !== 'undefined') variables[name] = provided[name];
  }

  if (!fetch.requires) {
    const received = await sendOperation(execution, fetch, cursor, variables);
    if (received) dataRewrites.applyRewrites(execution.supergraphSchema, fetch.outputRewrites, received);
    for (const entity of entities) deepMerge(entity as Record<string, unknown>, received);
    return;
  }

  const representations: Record<string, unknown>[] = [];
  const representationToEntity: number[] = [];
  for (let index = 0; index < entities.length; index++) {
    const representation = selectionOf(execution.supergraphSchema, entities[index] as Record<string, unknown>, fetch.requires);
    if (representation && representation.__typename) {
      dataRewrites.applyRewrites(execution.supergraphSchema, fetch.inputRewrites, representation);
      representations.push(representation);
      representationToEntity.push(index);
    }
  }
  if (representations.length < 1) return;
  if ('representations' in variables) throw new Error(`Variables cannot contain key "representations"`);
  const received = await sendOperation(execution, fetch, cursor, { ...variables, representations });
  if (!received) return;
  const receivedEntities = received._entities;
  if (!(receivedEntities && Array.isArray(receivedEntities))) throw new Error(`Expected "data._entities" in response to be an array`);
  if (receivedEntities.length !== representations.length) throw new Error(`Expected "data._entities" to contain ${representations.length} elements`);
  for (let i = 0; i < representations.length; i++) {
    const receivedEntity = receivedEntities[i] as Record<string, unknown> | null;
    const existingEntity = entities[representationToEntity[i]!] as Record<string, unknown>;
    if (receivedEntity && !receivedEntity.__typename) receivedEntity.__typename = existingEntity.__typename;
    dataRewrites.applyRewrites(execution.supergraphSchema, fetch.outputRewrites, receivedEntity);
    deepMerge(existingEntity, receivedEntity);
  }
}

async function sendOperation(
  execution: PlanExecution,
  fetch: FetchNode,
  cursor: Cursor,
  variables: Record<string, unknown>,
): Promise<Record<string, unknown> | null | undefined> {
  const { requestContext } = execution;
  const response = await execution.dataSource(fetch.serviceName)!.process({
    // GraphQLDataSourceRequestKind.INCOMING_OPERATION (the enum is not exported at run time).
    kind: 'incoming operation',
    request: { query: fetch.operation, variables, operationName: fetch.operationName, http: undefined },
    incomingRequestContext: requestContext,
    context: requestContext.context,
    document: fetch.operationDocumentNode,
    pathInIncomingRequest: cursor.path,
  } as Parameters<GraphQLDataSource['process']>[0]);
  if (response.errors) {
    const errorPath = lazyErrorPaths(fetch, cursor);
    execution.errors.push(...response.errors.map((error) => downstreamServiceError(error, fetch.serviceName, errorPath)));
    if (!response.extensions?.ftv1) {
      const errorPaths = response.errors.map((error) => ({ subgraph: fetch.serviceName, path: error.path }));
      const metrics = requestContext.metrics;
      if (metrics.nonFtv1ErrorPaths) metrics.nonFtv1ErrorPaths.push(...errorPaths);
      else metrics.nonFtv1ErrorPaths = errorPaths;
    }
  }
  return response.data;
}

/** Where a subgraph's error belongs in the client's response (entity errors are hydrated lazily). */
function lazyErrorPaths(fetch: FetchNode, cursor: Cursor) {
  let hydratedPaths: ResponsePath[] | undefined;
  return (errorPath: ReadonlyArray<string | number> | undefined): ResponsePath | undefined => {
    if (fetch.requires && typeof errorPath?.[1] === 'number') {
      if (!hydratedPaths) {
        hydratedPaths = [];
        generateHydratedPaths([], cursor.path, cursor.fullResult, hydratedPaths);
      }
      return [...(hydratedPaths[errorPath[1]] ?? []), ...errorPath.slice(2)];
    }
    return errorPath ? [...cursor.path, ...errorPath.slice()] : undefined;
  };
}

function downstreamServiceError(
  originalError: { message?: string; path?: ReadonlyArray<string | number>; extensions?: Record<string, unknown> },
  serviceName: string,
  errorPath: (path: ReadonlyArray<string | number> | undefined) => ResponsePath | undefined,
): GraphQLErrorType {
  let { message } = originalError;
  const { extensions } = originalError;
  if (!message) message = `Error while fetching subquery from service "${serviceName}"`;
  const errorOptions = {
    originalError: originalError as Error,
    path: errorPath(originalError.path),
    extensions: { ...extensions, serviceName },
  };
  const codeDef = federation.errorCodeDef(originalError as GraphQLErrorType);
  if (!codeDef && extensions?.code) return new GraphQLError(message, errorOptions);
  return (codeDef ?? federation.ERRORS.DOWNSTREAM_SERVICE_ERROR).err(message, errorOptions);
}

/** The representation of an entity for a fetch's `requires` selection (null when a key is missing). */
function selectionOf(schema: GraphQLSchema, source: Record<string, unknown> | null, selections: readonly QueryPlanSelectionNode[]): Record<string, unknown> | null {
  if (source === null) return null;
  const result: Record<string, unknown> = Object.create(null);
  for (const selection of selections) {
    if (selection.kind === 'Field') {
      const responseName = selection.alias ?? selection.name;
      const inner = selection.selections;
      if (!hasOwn(source, responseName) || typeof source[responseName] === 'undefined') return null;
      const value = source[responseName];
      if (Array.isArray(value)) result[responseName] = value.map((element) => (inner ? selectionOf(schema, element, inner) : element));
      else if (inner) result[responseName] = selectionOf(schema, value as Record<string, unknown> | null, inner);
      else result[responseName] = value;
    } else {
      if (!selection.typeCondition || !source) continue;
      if (dataRewrites.isObjectOfType(schema, source, selection.typeCondition)) deepMerge(result, selectionOf(schema, source, selection.selections));
    }
  }
  return result;
}

/** @apollo/gateway's deepMerge: objects merge key by key, lists of the same length element by element. */
function deepMerge(target: Record<string, unknown>, source: Record<string, unknown> | null | undefined): Record<string, unknown> {
  if (source === undefined || source === null) return target;
  for (const key of Object.keys(source)) {
    const value = source[key];
    if (value === undefined) continue;
    if (!hasOwn(target, key) && key in target) Object.defineProperty(target, key, { configurable: true, enumerable: true, value: undefined, writable: true });
    const existing = target[key];
    if (existing && isObject(value)) {
      deepMerge(existing as Record<string, unknown>, value);
    } else if (Array.isArray(value) && Array.isArray(existing) && value.length === existing.length) {
      for (let i = 0; i < value.length; i++) {
        if (isObject(existing[i]) && isObject(value[i])) deepMerge(existing[i], value[i]);
        else existing[i] = value[i];
      }
    } else {
      target[key] = value;
    }
  }
  return target;
}
