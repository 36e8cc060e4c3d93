import { PassThrough } from 'node:stream';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { GraphQLDataSource } from '@apollo/gateway';
import type { PlanNode } from '@apollo/query-planner';
import type { GatewayGraphQLRequestContext } from '@apollo/server-gateway-interface';
import type { DocumentNode, GraphQLFormattedError, GraphQLSchema, SelectionSetNode } from 'graphql';
import { HttpError, type Logger, type Viewer } from '@mercado/service-kit';
import { computeResponse, dataRewrites, federation, graphql, queryPlanner } from '../executor/apolloInternals.ts';
import { executePlan } from '../executor/planExecution.ts';
import type { GatewayContext } from '../gateway.ts';
import { operationLimits, type OperationLimits } from '../limits.ts';
import { trustedDocumentsGuard, type TrustedDocuments } from '../trustedDocuments.ts';
import { schemaWithDefer } from './deferDirective.ts';
import type { GatewayPlugin } from '../plugin.ts';

const { getOperationAST, getVariableValues, GraphQLError, Kind, parse, specifiedRules, validate, visit } = graphql;

/** The multipart format Apollo Client and graphql-http read (the 2022-08-24 incremental delivery draft). */
const BOUNDARY = '-';
const PART_HEADER = 'content-type: application/json; charset=utf-8\r\n\r\n';

export interface IncrementalDeliveryOptions {
  /** The supergraph as last loaded (ApolloGateway's onSchemaLoadOrUpdate); undefined until then. */
  schema(): { apiSchema: GraphQLSchema; coreSupergraphSdl: string } | undefined;
  dataSource(name: string): GraphQLDataSource | undefined;
  /** The gateway's check of a request's credentials and rate limit (HttpError to refuse). */
  authenticate(req: IncomingMessage): Promise<Viewer | null>;
  contextFor(viewer: Viewer | null, req: IncomingMessage): GatewayContext;
  /** Apollo Server's formatError: what a client may see of an error. */
  formatError(formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError;
  /** Every request this path does not take (no @defer, a GET, ...), with its body replayed. */
  fallback(req: IncomingMessage, res: ServerResponse): Promise<void>;
  limits: OperationLimits;
  trustedDocuments?: TrustedDocuments;
  maxBodyBytes: number;
  logger: Logger;
}

interface PlanningState {
  apiSchema: GraphQLSchema;
  supergraphSchema: GraphQLSchema;
  federatedApiSchema: ReturnType<InstanceType<typeof federation.Supergraph>['apiSchema']>;
  planner: InstanceType<typeof queryPlanner.QueryPlanner>;
}

type Json = Record<string, unknown>;

/**
 * @defer with incremental delivery: a POST to /graphql whose Accept allows `multipart/mixed` and
 * whose operation defers a fragment is planned by Apollo's query planner with deferring on, and
 * executed part by part on the gateway's plan executor: the primary part's fetches, that part
 * shaped and sent, then each deferred part's fetches and its fields sent at their paths
 * (`{ incremental: [{ data, path }], hasNext }`). Every other request goes to the usual handler.
 * Authentication, rate limit, trusted documents and operation limits apply as for any request.
 */
export function createIncrementalDelivery(opts: IncrementalDeliveryOptions) {
  let planning: { for: unknown; state: PlanningState | undefined } | undefined;
  /** The planner with deferring on, built once per supergraph. */
  function planningState(): PlanningState | undefined {
    const schema = opts.schema();
    if (!schema) return undefined;
    if (planning?.for === schema) return planning.state;
    let state: PlanningState | undefined;
    try {
      const supergraph = federation.Supergraph.build(schema.coreSupergraphSdl, { validateSupergraph: false });
      state = {
        apiSchema: schemaWithDefer(schema.apiSchema),
        supergraphSchema: supergraph.schema.toGraphQLJSSchema(),
        federatedApiSchema: supergraph.apiSchema(),
        planner: new queryPlanner.QueryPlanner(supergraph, { incrementalDelivery: { enableDefer: true } }),
      };
    } catch (error) {
      opts.logger.error({ err: error }, 'incremental delivery: cannot plan over this supergraph; @defer answers at once');
    }
    planning = { for: schema, state };
    return state;
  }
  const rules = [...specifiedRules, ...operationLimits(opts.limits).validationRules];
  const guard = opts.trustedDocuments ? trustedDocumentsGuard(opts.trustedDocuments) : undefined;

  function handles(req: IncomingMessage): boolean {
    return req.method === 'POST' && /multipart\/mixed/.test(req.headers.accept ?? '') && (req.url ?? '/').split('?')[0] === '/graphql';
  }

  async function readBody(req: IncomingMessage): Promise<Buffer> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > opts.maxBodyBytes) throw new HttpError(413, 'PAYLOAD_TOO_LARGE', `Request body exceeds ${opts.maxBodyBytes} bytes`, { connection: 'close' });
      chunks.push(chunk);
    }
    return Buffer.concat(chunks);
  }

  /** The request again, body included, for the usual handler. */
  function replay(req: IncomingMessage, body: Buffer): IncomingMessage {
    const copy = new PassThrough();
    copy.end(body);
    return Object.assign(copy, { headers: req.headers, method: req.method, url: req.url, socket: req.socket, httpVersion: req.httpVersion }) as unknown as IncomingMessage;
  }

  function sendError(res: ServerResponse, error: HttpError) {
    const text = JSON.stringify({ errors: [{ message: error.message, extensions: { code: error.code } }] });
    res.writeHead(error.status, { 'content-type': 'application/json; charset=utf-8', ...error.headers });
    res.end(text);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      await serve(req, res);
    } catch (error) {
      opts.logger.error({ err: error }, 'incremental delivery: request failed');
      if (res.headersSent) return void res.destroy();
      sendError(res, new HttpError(500, 'INTERNAL_SERVER_ERROR', 'Internal server error'));
    }
  }

  async function serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let body: Buffer;
    try {
      body = await readBody(req);
    } catch (error) {
      if (error instanceof HttpError) return sendError(res, error);
      throw error;
    }
    let params: { query?: unknown; operationName?: unknown; variables?: unknown; extensions?: unknown };
    try {
      params = JSON.parse(body.toString('utf8'));
    } catch {
      return opts.fallback(replay(req, body), res);
    }
    try {
      // Production runs trusted documents only: anything else is refused before it is parsed.
      guard?.({ method: 'POST', search: '', body: params });
    } catch (error) {
      if (error instanceof HttpError) return sendError(res, error);
      throw error;
    }
    const current = planningState();
    const hash = (params?.extensions as { persistedQuery?: { sha256Hash?: unknown } } | undefined)?.persistedQuery?.sha256Hash;
    // By its text, or (production) by the hash of a trusted document.
    const query = typeof params?.query === 'string' ? params.query : typeof hash === 'string' ? opts.trustedDocuments?.get(hash) : undefined;
    // Only operations that defer something, written out (a persisted hash answers at once).
    if (!current || !query || !query.includes('@defer')) return opts.fallback(replay(req, body), res);

    let document: DocumentNode;
    try {
      document = parse(query, { maxTokens: opts.limits.maxTokens });
    } catch {
      return opts.fallback(replay(req, body), res);
    }
    const operationName = typeof params.operationName === 'string' ? params.operationName : undefined;
    const operation = getOperationAST(document, operationName);
    // Refusals (invalid, too large, not a query) are the usual handler's to word.
    if (!operation || operation.operation !== 'query' || validate(current.apiSchema, document, rules).length > 0) return opts.fallback(replay(req, body), res);
    const variables = (params.variables && typeof params.variables === 'object' ? params.variables : {}) as Json;
    if (operation.variableDefinitions?.length && getVariableValues(current.apiSchema, operation.variableDefinitions, variables).errors) {
      return opts.fallback(replay(req, body), res);
    }
    let plan: { node?: PlanNode | { kind: 'Subscription' } };
    try {
      plan = current.planner.buildQueryPlan(federation.operationFromDocument(current.federatedApiSchema, document, { operationName }));
    } catch {
      return opts.fallback(replay(req, body), res);
    }
    const root = plan.node;
    if (!root || root.kind !== 'Defer' || root.deferred.some((d) => d.node && containsDefer(d.node))) return opts.fallback(replay(req, body), res);

    let viewer: Viewer | null;
    try {
      viewer = await opts.authenticate(req);
    } catch (error) {
      if (error instanceof HttpError) return sendError(res, error);
      throw error;
    }

    const contextValue = opts.contextFor(viewer, req);
    const requestContext = {
      request: { query, operationName, variables, http: undefined },
      context: contextValue,
      document,
      operationName: operationName ?? null,
      queryHash: '',
      metrics: {},
      logger: opts.logger,
    } as unknown as GatewayGraphQLRequestContext;
    const merged: Json = Object.create(null);
    const errors: unknown[] = [];
    const execution = { requestContext, dataSource: opts.dataSource, supergraphSchema: current.supergraphSchema, variableDefinitions: undefined as never, errors };
    const federatedOperation = federation.operationFromDocument(current.federatedApiSchema, document, { operationName });
    execution.variableDefinitions = federatedOperation.variableDefinitions as never;

    res.writeHead(200, { 'content-type': `multipart/mixed; boundary="${BOUNDARY}"; deferSpec=20220824`, 'cache-control': 'no-cache' });
    const write = (part: Json, hasNext: boolean) =>
      new Promise<void>((resolve) => res.write(`${PART_HEADER}${JSON.stringify({ ...part, hasNext })}\r\n--${BOUNDARY}${hasNext ? '\r\n' : '--\r\n'}`, () => resolve()));
    res.write(`\r\n--${BOUNDARY}\r\n`);

    const formatted = (list: unknown[]) =>
      list.map((e) => {
        const error = e instanceof GraphQLError ? e : new GraphQLError((e as Error)?.message ?? String(e), { originalError: e as Error });
        return opts.formatError(error.toJSON(), error);
      });

    try {
      if (root.primary.node) await executePlan(execution, root.primary.node, merged);
      const primaryDocument = withoutDeferredFragments(document);
      const primary = computeResponse({
        operation: federation.operationFromDocument(current.federatedApiSchema, primaryDocument, { operationName, validate: false }),
        variables,
        input: merged,
        introspectionHandling: () => null,
      });
      const primaryErrors = errors.splice(0);
      await write({ data: primary.data ?? null, ...(primaryErrors.length ? { errors: formatted(primaryErrors) } : {}) }, root.deferred.length > 0);
      for (const [i, deferred] of root.deferred.entries()) {
        if (res.destroyed) return;
        if (deferred.node) await executePlan(execution, deferred.node, merged);
        const selection = parse(`query ${deferred.subselection ?? '{ __typename }'}`).definitions[0] as { selectionSet: SelectionSetNode };
        const items = objectsAt(merged, deferred.queryPath).map(({ value, path }) => ({
          data: pick(current.supergraphSchema, value, selection.selectionSet),
          path,
          ...(deferred.label ? { label: deferred.label } : {}),
        }));
        const deferredErrors = errors.splice(0);
        if (deferredErrors.length && items.length) Object.assign(items[0]!, { errors: formatted(deferredErrors) });
        await write({ incremental: items }, i < root.deferred.length - 1);
      }
    } catch (error) {
      opts.logger.error({ err: error }, 'incremental delivery failed');
      await write({ incremental: [], errors: [{ message: 'Internal server error', extensions: { code: 'INTERNAL_SERVER_ERROR' } }] }, false);
    }
    res.end();
  }

  return { handles, handle };
}

function containsDefer(node: PlanNode): boolean {
  switch (node.kind) {
    case 'Defer':
      return true;
    case 'Sequence':
    case 'Parallel':
      return node.nodes.some(containsDefer);
    case 'Flatten':
      return containsDefer(node.node);
    case 'Condition':
      return [node.ifClause, node.elseClause].some((n) => n !== undefined && containsDefer(n));
    default:
      return false;
  }
}

/** The operation without its deferred fragments (those whose `if` is not literally false). */
function withoutDeferredFragments(document: DocumentNode): DocumentNode {
  const deferred = (directives: readonly { name: { value: string }; arguments?: readonly { name: { value: string }; value: { kind: string; value?: unknown } }[] }[] | undefined) =>
    directives?.some((d) => d.name.value === 'defer' && !d.arguments?.some((a) => a.name.value === 'if' && a.value.kind === Kind.BOOLEAN && a.value.value === false)) ?? false;
  return visit(document, {
    InlineFragment: (node) => (deferred(node.directives) ? null : undefined),
    FragmentSpread: (node) => (deferred(node.directives) ? null : undefined),
  });
}

/** Every object at `queryPath` in the unshaped data, with its path in the response (list indexes included). */
function objectsAt(data: unknown, queryPath: readonly string[]): Array<{ value: Json; path: Array<string | number> }> {
  let found: Array<{ value: unknown; path: Array<string | number> }> = [{ value: data, path: [] }];
  for (const step of queryPath) {
    if (step.startsWith('...')) continue;
    const next: typeof found = [];
    const descend = (value: unknown, path: Array<string | number>) => {
      if (Array.isArray(value)) value.forEach((element, index) => descend(element, [...path, index]));
      else if (value !== null && value !== undefined) next.push({ value, path });
    };
    for (const { value, path } of found) {
      if (value !== null && typeof value === 'object') descend((value as Json)[step], [...path, step]);
    }
    found = next;
  }
  const objects: Array<{ value: Json; path: Array<string | number> }> = [];
  const flatten = (value: unknown, path: Array<string | number>) => {
    if (Array.isArray(value)) value.forEach((element, index) => flatten(element, [...path, index]));
    else if (value !== null && typeof value === 'object') objects.push({ value: value as Json, path });
  };
  for (const { value, path } of found) flatten(value, path);
  return objects;
}

/** The selected fields of an unshaped object, by response key (what the deferred fragment adds at its path). */
function pick(schema: GraphQLSchema, source: unknown, selectionSet: SelectionSetNode): unknown {
  if (source === null || source === undefined) return null;
  if (Array.isArray(source)) return source.map((element) => pick(schema, element, selectionSet));
  if (typeof source !== 'object') return source;
  const result: Json = {};
  for (const selection of selectionSet.selections) {
    if (selection.kind === Kind.FIELD) {
      const key = selection.alias?.value ?? selection.name.value;
      const value = (source as Json)[key];
      result[key] = selection.selectionSet ? pick(schema, value, selection.selectionSet) : (value ?? null);
    } else if (selection.kind === Kind.INLINE_FRAGMENT) {
      const condition = selection.typeCondition?.name.value;
      if (!condition || dataRewrites.isObjectOfType(schema, source as Json, condition)) Object.assign(result, pick(schema, source, selection.selectionSet));
    }
  }
  return result;
}

export type IncrementalDelivery = ReturnType<typeof createIncrementalDelivery>;

/** @defer's incremental delivery as a gateway plugin: answers the multipart requests it takes on. */
export function useIncrementalDelivery(opts: IncrementalDeliveryOptions): GatewayPlugin {
  const incremental = createIncrementalDelivery(opts);
  return {
    name: 'incremental-delivery',
    async onRequest(req, res) {
      if (!incremental.handles(req)) return false;
      await incremental.handle(req, res);
      return true;
    },
  };
}
