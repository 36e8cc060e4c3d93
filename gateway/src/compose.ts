/**
 * Composes the subgraphs' schema files into gateway/supergraph.graphql with
 * @apollo/composition. `--check` fails when composition fails or the committed file is stale.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { composeServices } from '@apollo/composition';
import { parse } from 'graphql';
import { subgraphs } from './subgraphs.ts';

const root = new URL('../../', import.meta.url);
const target = fileURLToPath(new URL('gateway/supergraph.graphql', root));

export function composeSupergraph(): string {
  const result = composeServices(
    subgraphs.map(({ name, url }) => ({
      name,
      url,
      typeDefs: parse(readFileSync(new URL(`subgraphs/${name}/schema.graphql`, root), 'utf8')),
    })),
  );
  if (result.errors) {
    throw new Error(`composition failed:\n${result.errors.map((e) => `  - ${e.message}`).join('\n')}`);
  }
  return result.supergraphSdl;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  let sdl: string;
  try {
    sdl = composeSupergraph();
  } catch (error) {
    console.error((error as Error).message);
    process.exit(1);
  }
  if (process.argv.includes('--check')) {
    let committed = '';
    try {
      committed = readFileSync(target, 'utf8');
    } catch {}
    if (committed !== sdl) {
      console.error('gateway/supergraph.graphql is stale: run `npm run compose` and commit the result');
      process.exit(1);
    }
    console.log(`supergraph is up to date (${subgraphs.length} subgraphs)`);
  } else {
    writeFileSync(target, sdl);
    console.log(`wrote ${target} (${subgraphs.length} subgraphs)`);
  }
}
