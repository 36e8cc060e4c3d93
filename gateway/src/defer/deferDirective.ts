import type { GatewayInterface } from '@apollo/server-gateway-interface';
import type { GraphQLSchema as GraphQLSchemaType } from 'graphql';
import { graphql } from '../executor/apolloInternals.ts';

const { DirectiveLocation, GraphQLBoolean, GraphQLDirective, GraphQLNonNull, GraphQLSchema, GraphQLString } = graphql;

/** `@defer(if: Boolean! = true, label: String)` as the incremental delivery RFC (and graphql-js 17) define it. */
export const deferDirective = new GraphQLDirective({
  name: 'defer',
  description: 'Lets the fields of this fragment arrive after the rest of the response, when the client accepts incremental delivery.',
  locations: [DirectiveLocation.FRAGMENT_SPREAD, DirectiveLocation.INLINE_FRAGMENT],
  args: {
    if: { type: new GraphQLNonNull(GraphQLBoolean), defaultValue: true },
    label: { type: GraphQLString },
  },
});

const withDefer = new WeakMap<GraphQLSchemaType, GraphQLSchemaType>();

/** The schema with @defer, so that operations using it validate (@apollo/gateway's API schema leaves it out). */
export function schemaWithDefer(schema: GraphQLSchemaType): GraphQLSchemaType {
  let extended = withDefer.get(schema);
  if (!extended) {
    const config = schema.toConfig();
    extended = config.directives.some((d) => d.name === 'defer') ? schema : new GraphQLSchema({ ...config, directives: [...config.directives, deferDirective] });
    withDefer.set(schema, extended);
  }
  return extended;
}

/**
 * A gateway whose clients may write `@defer`. Without incremental delivery the planner plans a
 * deferred fragment like any other (Apollo's planner drops @defer unless deferring is enabled),
 * so the client gets the whole response at once, as the incremental delivery RFC allows; with
 * it (gateway/src/defer/incremental.ts) the deferred parts follow the rest.
 */
export function withDeferDirective(gateway: GatewayInterface): GatewayInterface {
  return {
    load: (options) => gateway.load(options),
    onSchemaLoadOrUpdate: (callback) => gateway.onSchemaLoadOrUpdate((context) => callback({ ...context, apiSchema: schemaWithDefer(context.apiSchema) })),
    stop: () => gateway.stop(),
  };
}
