import type { DocumentNode, FieldNode, OperationDefinitionNode } from 'graphql';
import { graphql } from '../executor/apolloInternals.ts';

const { GraphQLError, Kind, OperationTypeNode, print } = graphql;

/**
 * The subscription root fields the gateway serves, each as the query field that reads the same
 * object and the integration events (routing keys `<source>.<Type>`, from the system manifest)
 * after which that object may look different. The events carry the aggregate's id: a
 * subscriber hears those about the id it subscribed to.
 */
export const liveFields: Record<string, { queryField: string; events: readonly string[] }> = {
  orderUpdated: { queryField: 'order', events: ['orders.OrderStatusChanged'] },
  productUpdated: { queryField: 'product', events: ['catalog.ProductPriceChanged', 'inventory.StockChanged'] },
};

/** A subscription operation, as the query the gateway runs for its first message and after each event. */
export interface LiveQuery {
  /** The query's text: the subscription with `query` for `subscription` and the query field for the live one. */
  query: string;
  /** The key the field has in a result (its alias, or the subscription field's own name). */
  responseKey: string;
  /** The id the subscriber follows: events about other aggregates are not for it. */
  aggregateId: string;
  events: readonly string[];
}

const refuse = (message: string) => new GraphQLError(message, { extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } });

/**
 * `subscription S($id: ID!) { orderUpdated(id: $id) { ...sel } }` becomes
 * `query S($id: ID!) { orderUpdated: order(id: $id) { ...sel } }`: the same selection, planned and
 * executed like any query (so it may select fields of every subgraph), its result under the key
 * the subscriber asked for. The document must already be valid against the API schema.
 */
export function toLiveQuery(document: DocumentNode, operation: OperationDefinitionNode, variables: Record<string, unknown>): LiveQuery {
  const selections = operation.selectionSet.selections;
  const field = selections[0];
  if (selections.length !== 1 || field?.kind !== Kind.FIELD) throw refuse('A subscription selects exactly one field, without fragments at its root');
  const live = liveFields[field.name.value];
  if (!live) throw refuse(`The gateway does not serve the subscription field "${field.name.value}"`);
  const idArgument = field.arguments?.find((a) => a.name.value === 'id');
  const idValue = idArgument?.value;
  const aggregateId =
    idValue?.kind === Kind.VARIABLE ? variables[idValue.name.value] : idValue?.kind === Kind.STRING || idValue?.kind === Kind.INT ? idValue.value : undefined;
  if (typeof aggregateId !== 'string' && typeof aggregateId !== 'number') throw refuse(`${field.name.value} needs an id`);
  const responseKey = field.alias?.value ?? field.name.value;
  const queryField: FieldNode = {
    ...field,
    alias: { kind: Kind.NAME, value: responseKey },
    name: { kind: Kind.NAME, value: live.queryField },
  };
  const query: OperationDefinitionNode = { ...operation, operation: OperationTypeNode.QUERY, selectionSet: { ...operation.selectionSet, selections: [queryField] } };
  // Only this operation and the fragments: a document may hold other operations the query must not carry.
  const definitions = [query, ...document.definitions.filter((d) => d.kind === Kind.FRAGMENT_DEFINITION)];
  return { query: print({ kind: Kind.DOCUMENT, definitions }), responseKey, aggregateId: String(aggregateId), events: live.events };
}
