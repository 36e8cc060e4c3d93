import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ApolloServerPlugin, BaseContext } from '@apollo/server';
import type { ParseOptions, ValidationRule } from 'graphql';

/** A GraphQL request as the gateway's HTTP handler has read it, before Apollo sees it. */
export interface GraphQLHttpRequest {
  method: string;
  search: string;
  body: unknown;
}

/**
 * One concern of the gateway (a check at the door, a measurement, a route of its own), in the
 * one shape every concern takes, as Hive Gateway's `use*` plugins do: a `useX(options)` function
 * in the concern's own module returns the hooks it needs, and `gateway.ts` lists them in order.
 *
 * - `onRequest`: every HTTP request, in list order, before routing; `true` means the plugin has
 *   answered it (a refusal, a preflight, a route of its own) and nothing after it runs.
 * - `onGraphQLRequest`: a GraphQL request's body once read; throw an HttpError to refuse it.
 * - `apollo`, `validationRules`, `parseOptions`: per-operation hooks, through Apollo Server's
 *   own plugin API and graphql-js' validation and parsing.
 * - `close`: releases what the plugin holds (Redis connections, queues), in reverse list order.
 */
export interface GatewayPlugin<TContext extends BaseContext = BaseContext> {
  readonly name: string;
  onRequest?(req: IncomingMessage, res: ServerResponse): boolean | Promise<boolean>;
  onGraphQLRequest?(request: GraphQLHttpRequest): void | Promise<void>;
  apollo?: ApolloServerPlugin<TContext>;
  validationRules?: readonly ValidationRule[];
  parseOptions?: ParseOptions;
  close?(): Promise<unknown>;
}

/** What Apollo Server is given of a list of plugins: their operation hooks, rules and parse options. */
export function apolloOptionsOf<TContext extends BaseContext>(plugins: ReadonlyArray<GatewayPlugin<TContext>>) {
  return {
    plugins: plugins.flatMap((p) => (p.apollo ? [p.apollo] : [])),
    validationRules: plugins.flatMap((p) => p.validationRules ?? []),
    parseOptions: Object.assign({}, ...plugins.map((p) => p.parseOptions ?? {})) as ParseOptions,
  };
}

/** The HTTP side of a list of plugins, run in list order. */
export function composeGatewayPlugins<TContext extends BaseContext>(plugins: ReadonlyArray<GatewayPlugin<TContext>>) {
  const onRequest = plugins.filter((p) => p.onRequest);
  const onGraphQLRequest = plugins.filter((p) => p.onGraphQLRequest);
  return {
    /** True when a plugin answered the request. */
    async onRequest(req: IncomingMessage, res: ServerResponse): Promise<boolean> {
      for (const plugin of onRequest) if (await plugin.onRequest!(req, res)) return true;
      return false;
    },
    async onGraphQLRequest(request: GraphQLHttpRequest): Promise<void> {
      for (const plugin of onGraphQLRequest) await plugin.onGraphQLRequest!(request);
    },
    /** Closes every plugin, last first; one that fails does not keep the others open. */
    async close(): Promise<void> {
      const failures: unknown[] = [];
      for (const plugin of [...plugins].reverse()) await plugin.close?.().catch((error: unknown) => failures.push(error));
      if (failures.length) throw new AggregateError(failures, `${failures.length} gateway plugin(s) failed to close`);
    },
  };
}
