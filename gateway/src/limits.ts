import { ApolloArmor } from '@escape.tech/graphql-armor';
import { GraphQLError, type ParseOptions, type ValidationContext, type ValidationRule } from 'graphql';
import type { GatewayPlugin } from './plugin.ts';

/** How large one client operation may be. Defaults are in `defaultOperationLimits`. */
export interface OperationLimits {
  /** Nesting of selection sets; our deepest operation (an order's product's review's author) is 7. */
  maxDepth: number;
  /**
   * Demand control's estimate (demandControl.ts: @cost/@listSize from the supergraph, list sizes
   * from literal and variable arguments); above it COST_LIMIT_EXCEEDED.
   */
  maxCost: number;
  maxAliases: number;
  maxDirectives: number;
  /** Lexical tokens in the document, checked while parsing so a huge document is never built. */
  maxTokens: number;
}

/**
 * By demand control's estimate a products page of 100 with stock and 10 reviews each with their
 * authors costs 2,501, our costliest trusted document 2,025 and Sandbox's full introspection
 * 16,424; the cost limit leaves room for those and refuses what multiplies past them (100
 * products x 50 reviews x their authors' 50 reviews: 260,201).
 */
export const defaultOperationLimits: OperationLimits = {
  maxDepth: 12,
  maxCost: 20_000,
  maxAliases: 15,
  maxDirectives: 10,
  maxTokens: 2_000,
};

// Armor's own Apollo reporter labels every refusal BAD_USER_INPUT and prefixes "Syntax Error";
// a too-large operation is a validation failure, so report it as one with a plain message.
const reportValidationFailure = (context: ValidationContext | null, error: GraphQLError) => {
  context?.reportError(
    new GraphQLError(error.message.replace(/^Syntax Error: /, ''), { extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } }),
  );
};

/**
 * Apollo Server options that refuse oversized operations before any subgraph is called:
 * HTTP 400 with `GRAPHQL_VALIDATION_FAILED` (depth, aliases, directives) or
 * `GRAPHQL_PARSE_FAILED` (tokens).
 */
export function operationLimits(limits: OperationLimits): { validationRules: ValidationRule[]; parseOptions: ParseOptions } {
  const reject = { propagateOnRejection: false, onReject: [reportValidationFailure] };
  const { validationRules } = new ApolloArmor({
    maxDepth: { n: limits.maxDepth, ...reject },
    // Demand control (demandControl.ts) estimates cost with the variables' values; armor's
    // estimate saw only literal arguments, so `first: $n` went uncounted.
    costLimit: { enabled: false },
    maxAliases: { n: limits.maxAliases, ...reject },
    maxDirectives: { n: limits.maxDirectives, ...reject },
    // Armor's token plugin parses every document a second time and throws from a hook Apollo
    // treats as a crash (HTTP 500); graphql-js counts tokens in the one parse Apollo does anyway.
    maxTokens: { enabled: false },
    // Apollo Server's hideSchemaDetailsFromClientErrors removes "Did you mean ...?" cleanly;
    // armor's mask leaves the question mark behind.
    blockFieldSuggestion: { enabled: false },
  }).protect();
  return { validationRules, parseOptions: { maxTokens: limits.maxTokens } };
}

/** Limits on one HTTP request and on the gateway's calls on its behalf. */
export const defaultRequestLimits = {
  /** Our largest operation with variables is under 2 KB; 100 KB leaves room without inviting floods. */
  maxBodyBytes: 100 * 1024,
  subgraphTimeoutMs: 10_000,
  readinessTimeoutMs: 2_000,
};

/** Depth, aliases, directives (validation) and tokens (parsing) as a gateway plugin. */
export function useOperationLimits(limits: OperationLimits): GatewayPlugin {
  return { name: 'operation-limits', ...operationLimits(limits) };
}
