import type { ApolloServerPlugin } from '@apollo/server';
import {
  GraphQLError,
  Kind,
  parse,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLCompositeType,
  type GraphQLField,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from 'graphql';
import { graphql } from './executor/apolloInternals.ts';
import type { GatewayPlugin } from './plugin.ts';

// The schema Apollo hands to plugins is the gateway's, built by its own copy of graphql-js;
// type checks and argument coercion must use that copy (see apolloInternals.ts).
const {
  getArgumentValues,
  getDirectiveValues,
  getNamedType,
  getNullableType,
  getVariableValues,
  GraphQLIncludeDirective,
  GraphQLSkipDirective,
  isCompositeType,
  isInterfaceType,
  isListType,
  isObjectType,
  SchemaMetaFieldDef,
  TypeMetaFieldDef,
  TypeNameMetaFieldDef,
} = graphql;

/**
 * Demand control after IBM's GraphQL cost specification, as Apollo Router and Hive Gateway
 * implement it: the subgraphs declare `@cost(weight)` and `@listSize(assumedSize,
 * slicingArguments, sizedFields)` (Federation 2.9), composition carries them into the
 * supergraph, and the gateway estimates what an operation may cost before anything runs, with
 * the variables' values, so `first: $n` counts exactly as `first: 100` does.
 *
 * Weights: an object, interface or union costs 1, a scalar or enum 0, unless `@cost` says
 * otherwise (on the field, or on the type); a list multiplies what one element costs by its
 * size; a mutation operation starts at 10. Introspection is counted like any other selection.
 */
export interface CostDirectives {
  /** `@cost` on a type, by type name. */
  typeWeights: ReadonlyMap<string, number>;
  /** `@cost` on a field, by `Type.field`. */
  fieldWeights: ReadonlyMap<string, number>;
  /** `@listSize` on a field, by `Type.field`. */
  listSizes: ReadonlyMap<string, ListSize>;
}

export interface ListSize {
  assumedSize?: number;
  slicingArguments?: string[];
  sizedFields?: string[];
  requireOneSlicingArgument?: boolean;
}

export interface DemandControlOptions {
  /** Operations estimated above this are refused with COST_LIMIT_EXCEEDED before any subgraph is called. */
  maxCost: number;
  /** Size of a list field without `@listSize` (and of introspection's lists). */
  defaultListSize: number;
  /** Adds `extensions.cost { estimated, actual, max }` to every response (for clients tuning their operations). */
  report?: boolean;
}

export const defaultDemandControl = { defaultListSize: 10 } as const;

const MUTATION_BASE_COST = 10;

/** Reads the cost directives out of a composed supergraph (they are gone from the API schema). */
export function costDirectivesFromSupergraph(supergraphSdl: string): CostDirectives {
  const typeWeights = new Map<string, number>();
  const fieldWeights = new Map<string, number>();
  const listSizes = new Map<string, ListSize>();
  const intValue = (node: { kind: string; value?: string } | undefined) =>
    node && (node.kind === Kind.INT || node.kind === Kind.FLOAT || node.kind === Kind.STRING) ? Number(node.value) : undefined;
  for (const definition of parse(supergraphSdl).definitions) {
    if (!('name' in definition) || !definition.name || !('directives' in definition)) continue;
    const typeName = definition.name.value;
    for (const directive of definition.directives ?? []) {
      if (directive.name.value === 'cost') {
        const weight = intValue(directive.arguments?.find((a) => a.name.value === 'weight')?.value as never);
        if (weight !== undefined) typeWeights.set(typeName, weight);
      }
    }
    if (!('fields' in definition) || !definition.fields) continue;
    for (const field of definition.fields) {
      const coordinate = `${typeName}.${field.name.value}`;
      for (const directive of field.directives ?? []) {
        const args = new Map((directive.arguments ?? []).map((a) => [a.name.value, a.value]));
        if (directive.name.value === 'cost') {
          const weight = intValue(args.get('weight') as never);
          if (weight !== undefined) fieldWeights.set(coordinate, weight);
        } else if (directive.name.value === 'listSize') {
          const strings = (name: string) => {
            const value = args.get(name);
            if (!value) return undefined;
            const items = value.kind === Kind.LIST ? value.values : [value];
            return items.flatMap((item) => (item.kind === Kind.STRING ? [item.value] : []));
          };
          const required = args.get('requireOneSlicingArgument');
          listSizes.set(coordinate, {
            assumedSize: intValue(args.get('assumedSize') as never),
            slicingArguments: strings('slicingArguments'),
            sizedFields: strings('sizedFields'),
            requireOneSlicingArgument: required?.kind === Kind.BOOLEAN ? required.value : true,
          });
        }
      }
    }
  }
  return { typeWeights, fieldWeights, listSizes };
}

interface Walk {
  schema: GraphQLSchema;
  directives: CostDirectives;
  defaultListSize: number;
  variables: Record<string, unknown>;
  fragments: Record<string, FragmentDefinitionNode>;
}

/** Sizes a `sizedFields` parent hands to its children: field name -> size. */
type SizedChildren = ReadonlyMap<string, number> | undefined;

function included(walk: Walk, node: FieldNode | { directives?: FieldNode['directives'] }): boolean {
  const skip = getDirectiveValues(GraphQLSkipDirective, node as FieldNode, walk.variables);
  if (skip?.if === true) return false;
  const include = getDirectiveValues(GraphQLIncludeDirective, node as FieldNode, walk.variables);
  return include?.if !== false;
}

function fieldDefinition(schema: GraphQLSchema, parent: GraphQLCompositeType, name: string): GraphQLField<unknown, unknown> | undefined {
  if (name === '__typename') return TypeNameMetaFieldDef;
  if (parent === schema.getQueryType()) {
    if (name === '__schema') return SchemaMetaFieldDef;
    if (name === '__type') return TypeMetaFieldDef;
  }
  return isObjectType(parent) || isInterfaceType(parent) ? parent.getFields()[name] : undefined;
}

/** The size `@listSize` gives a field with these arguments: its largest slicing argument, else assumedSize. */
function slicedSize(walk: Walk, listSize: ListSize | undefined, definition: GraphQLField<unknown, unknown>, node: FieldNode): number | undefined {
  if (!listSize) return undefined;
  if (listSize.slicingArguments?.length) {
    let args: Record<string, unknown> = {};
    try {
      args = getArgumentValues(definition, node, walk.variables);
    } catch {
      // A bad argument fails validation or execution anyway; estimate with what is known.
    }
    const sizes = listSize.slicingArguments.map((name) => args[name]).filter((value): value is number => typeof value === 'number');
    if (sizes.length > 0) return Math.max(0, ...sizes);
  }
  return listSize.assumedSize;
}

function selectionSetCost(walk: Walk, selectionSet: SelectionSetNode, parent: GraphQLCompositeType, sized: SizedChildren, seen: Set<string>): number {
  let cost = 0;
  for (const selection of selectionSet.selections) {
    if (!included(walk, selection)) continue;
    if (selection.kind === Kind.FIELD) {
      cost += fieldCost(walk, selection, parent, sized, seen);
    } else if (selection.kind === Kind.INLINE_FRAGMENT) {
      const type = selection.typeCondition ? walk.schema.getType(selection.typeCondition.name.value) : parent;
      if (type && isCompositeType(type)) cost += selectionSetCost(walk, selection.selectionSet, type, sized, seen);
    } else {
      const fragment = walk.fragments[selection.name.value];
      // A fragment spread inside itself is a validation error; never loop on one.
      if (!fragment || seen.has(fragment.name.value)) continue;
      const type = walk.schema.getType(fragment.typeCondition.name.value);
      if (!type || !isCompositeType(type)) continue;
      seen.add(fragment.name.value);
      cost += selectionSetCost(walk, fragment.selectionSet, type, sized, seen);
      seen.delete(fragment.name.value);
    }
  }
  return cost;
}

function fieldCost(walk: Walk, node: FieldNode, parent: GraphQLCompositeType, sized: SizedChildren, seen: Set<string>): number {
  const definition = fieldDefinition(walk.schema, parent, node.name.value);
  if (!definition) return 0;
  const coordinate = `${parent.name}.${node.name.value}`;
  const named = getNamedType(definition.type);
  const weight = walk.directives.fieldWeights.get(coordinate) ?? walk.directives.typeWeights.get(named.name) ?? (isCompositeType(named) ? 1 : 0);
  const listSize = walk.directives.listSizes.get(coordinate);
  const size = slicedSize(walk, listSize, definition, node);

  // With sizedFields, the slicing arguments size lists inside the result (a connection's edges).
  let childSizes: SizedChildren;
  if (listSize?.sizedFields?.length) childSizes = new Map(listSize.sizedFields.map((name) => [name, size ?? walk.defaultListSize]));
  const children = node.selectionSet && isCompositeType(named) ? selectionSetCost(walk, node.selectionSet, named, childSizes, seen) : 0;

  if (!isListType(getNullableType(definition.type))) return weight + children;
  const length = sized?.get(node.name.value) ?? (listSize?.sizedFields?.length ? undefined : size) ?? walk.defaultListSize;
  return length * (weight + children);
}

/**
 * The estimated cost of running `operation`, with the request's variables (defaults applied).
 * Throws a GraphQLError when the variables cannot be coerced (execution would refuse them too).
 */
export function estimateCost(
  schema: GraphQLSchema,
  directives: CostDirectives,
  operation: OperationDefinitionNode,
  fragments: Record<string, FragmentDefinitionNode>,
  rawVariables: Record<string, unknown> | undefined,
  defaultListSize: number = defaultDemandControl.defaultListSize,
): number {
  const coerced = getVariableValues(schema, operation.variableDefinitions ?? [], rawVariables ?? {}, { maxErrors: 1 });
  const variables = coerced.coerced ?? {};
  const root = operation.operation === 'mutation' ? schema.getMutationType() : operation.operation === 'subscription' ? schema.getSubscriptionType() : schema.getQueryType();
  if (!root) return 0;
  const walk: Walk = { schema, directives, defaultListSize, variables, fragments };
  return (operation.operation === 'mutation' ? MUTATION_BASE_COST : 0) + selectionSetCost(walk, operation.selectionSet, root, undefined, new Set());
}

/** What a response actually cost by the same weights: lists counted by their real lengths. */
export function actualCost(
  schema: GraphQLSchema,
  directives: CostDirectives,
  operation: OperationDefinitionNode,
  fragments: Record<string, FragmentDefinitionNode>,
  variables: Record<string, unknown>,
  data: unknown,
): number {
  const walk: Walk = { schema, directives, defaultListSize: 0, variables, fragments };
  const root = operation.operation === 'mutation' ? schema.getMutationType() : schema.getQueryType();
  if (!root || typeof data !== 'object' || data === null) return 0;
  const ofSelection = (selectionSet: SelectionSetNode, parent: GraphQLCompositeType, value: Record<string, unknown>): number => {
    let cost = 0;
    for (const selection of selectionSet.selections) {
      if (!included(walk, selection)) continue;
      if (selection.kind === Kind.FIELD) {
        const definition = fieldDefinition(schema, parent, selection.name.value);
        if (!definition) continue;
        const named = getNamedType(definition.type);
        const weight = directives.fieldWeights.get(`${parent.name}.${selection.name.value}`) ?? directives.typeWeights.get(named.name) ?? (isCompositeType(named) ? 1 : 0);
        const ofValue = (item: unknown): number => {
          if (item === null || item === undefined) return 0;
          if (Array.isArray(item)) return item.reduce((sum: number, element) => sum + ofValue(element), 0);
          const children = selection.selectionSet && isCompositeType(named) && typeof item === 'object' ? ofSelection(selection.selectionSet, named, item as Record<string, unknown>) : 0;
          return weight + children;
        };
        cost += ofValue(value[selection.alias?.value ?? selection.name.value]);
      } else {
        const set = selection.kind === Kind.INLINE_FRAGMENT ? selection.selectionSet : fragments[selection.name.value]?.selectionSet;
        const condition = selection.kind === Kind.INLINE_FRAGMENT ? selection.typeCondition?.name.value : fragments[selection.name.value]?.typeCondition.name.value;
        const type = condition ? schema.getType(condition) : parent;
        if (set && type && isCompositeType(type)) cost += ofSelection(set, type, value);
      }
    }
    return cost;
  };
  return (operation.operation === 'mutation' ? MUTATION_BASE_COST : 0) + ofSelection(operation.selectionSet, root, data as Record<string, unknown>);
}

/** The refusal: HTTP 400, a stable code, and the estimate so a client can see by how much. */
export function costLimitExceeded(estimated: number, max: number): GraphQLError {
  return new GraphQLError(`The operation's estimated cost of ${estimated} exceeds the limit of ${max}; ask for smaller pages or fewer nested lists`, {
    extensions: { code: 'COST_LIMIT_EXCEEDED', cost: { estimated, max }, http: { status: 400 } },
  });
}

/**
 * The Apollo Server plugin: estimates each operation once it is resolved (after validation,
 * before planning), refuses it above `maxCost`, and optionally reports the cost in the response.
 */
export function demandControl(supergraphSdl: string, opts: DemandControlOptions): ApolloServerPlugin {
  const directives = costDirectivesFromSupergraph(supergraphSdl);
  return {
    async requestDidStart() {
      let estimated = 0;
      let fragments: Record<string, FragmentDefinitionNode> = {};
      return {
        async didResolveOperation({ schema, document, operation, request }) {
          if (!operation) return;
          fragments = {};
          for (const definition of document.definitions) if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments[definition.name.value] = definition;
          estimated = estimateCost(schema, directives, operation, fragments, request.variables, opts.defaultListSize);
          if (estimated > opts.maxCost) throw costLimitExceeded(estimated, opts.maxCost);
        },
        async willSendResponse({ response, schema, operation, request }) {
          if (!opts.report || !operation || response.body.kind !== 'single') return;
          const { singleResult } = response.body;
          const variables = getVariableValues(schema, operation.variableDefinitions ?? [], request.variables ?? {}).coerced ?? {};
          const actual = actualCost(schema, directives, operation, fragments, variables, singleResult.data);
          singleResult.extensions = { ...singleResult.extensions, cost: { estimated, actual, max: opts.maxCost } };
        },
      };
    },
  };
}

/** Demand control as a gateway plugin. */
export function useDemandControl(supergraphSdl: string, opts: DemandControlOptions): GatewayPlugin {
  return { name: 'demand-control', apollo: demandControl(supergraphSdl, opts) };
}
