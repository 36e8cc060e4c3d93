import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { commonEnvironment, parseEnvironment } from '@mercado/service-kit';
import { subgraphs } from './subgraphs.ts';

const urlOverrides = Object.fromEntries(
  subgraphs.map(({ name }) => [`SUBGRAPH_${name.toUpperCase()}_URL`, z.string().url().optional()]),
);

export const environment = parseEnvironment({
  ...commonEnvironment,
  PORT: z.coerce.number().int().min(0).max(65535).default(4000),
  /** Any composed supergraph; subgraph URLs come from the file unless overridden below. */
  SUPERGRAPH_PATH: z.string().default(fileURLToPath(new URL('../supergraph.graphql', import.meta.url))),
  ACCOUNTS_JWKS_URL: z.string().url().default('http://127.0.0.1:4001/.well-known/jwks.json'),
  JWT_ISSUER: z.string().default('mercado-accounts'),
  JWT_AUDIENCE: z.string().default('mercado'),
  ...urlOverrides,
});

/** SUBGRAPH_<NAME>_URL variables, by subgraph name. */
export function subgraphUrlOverrides(env: Record<string, unknown> = environment): Record<string, string> {
  return Object.fromEntries(
    Object.entries(env)
      .filter(([key, value]) => /^SUBGRAPH_[A-Z0-9_]+_URL$/.test(key) && typeof value === 'string')
      .map(([key, value]) => [key.slice('SUBGRAPH_'.length, -'_URL'.length).toLowerCase(), value as string]),
  );
}
