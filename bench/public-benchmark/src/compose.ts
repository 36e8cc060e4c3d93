/**
 * Composes the public-benchmark subgraphs into bench/public-benchmark/supergraph.graphql, with
 * the fixed localhost ports the bench starts them on. `--check` fails when the file is stale.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { composeServices } from '@apollo/composition';
import { publicSubgraphNames, publicSubgraphPorts, publicSubgraphTypeDefs } from './subgraphs.ts';

export const publicSupergraphPath = fileURLToPath(new URL('../supergraph.graphql', import.meta.url));

/** The supergraph with the given subgraph URLs (default: the fixed bench ports). */
export function composePublicSupergraph(urls: Partial<Record<string, string>> = {}): string {
  const result = composeServices(
    publicSubgraphNames.map((name) => ({
      name,
      url: urls[name] ?? `http://127.0.0.1:${publicSubgraphPorts[name]}/graphql`,
      typeDefs: publicSubgraphTypeDefs(name),
    })),
  );
  if (result.errors) throw new Error(`composition failed:\n${result.errors.map((e) => `  - ${e.message}`).join('\n')}`);
  return result.supergraphSdl;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const sdl = composePublicSupergraph();
  if (process.argv.includes('--check')) {
    let committed = '';
    try {
      committed = readFileSync(publicSupergraphPath, 'utf8');
    } catch {}
    if (committed !== sdl) {
      console.error('bench/public-benchmark/supergraph.graphql is stale: run `npm run compose -w @mercado/bench`');
      process.exit(1);
    }
    console.log('public-benchmark supergraph is up to date');
  } else {
    writeFileSync(publicSupergraphPath, sdl);
    console.log(`wrote ${publicSupergraphPath}`);
  }
}
