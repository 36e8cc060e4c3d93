/**
 * Writes gateway/trusted-documents.json, the only operations the gateway runs in production,
 * from the project's operation files. Every document must be valid against the committed
 * supergraph and within the gateway's operation limits. `--check` fails when one is not, or when
 * the committed manifest is stale.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { buildSchema, Kind, parse, specifiedRules, validate, type DocumentNode } from 'graphql';
import { defaultOperationLimits, operationLimits } from './limits.ts';
import { costDirectivesFromSupergraph, estimateCost } from './demandControl.ts';
import { graphql } from './executor/apolloInternals.ts';
import { documentHash, trustedDocumentsPath } from './trustedDocuments.ts';

const root = new URL('../../', import.meta.url);

/** Folders whose *.graphql files are the operations Mercado's clients (and its smoke tests) send. */
export const operationFolders = ['gateway/operations', 'e2e/test/operations'];

export interface OperationFile {
  file: string;
  text: string;
}

export function readOperationFiles(): OperationFile[] {
  return operationFolders.flatMap((folder) =>
    readdirSync(new URL(`${folder}/`, root))
      .filter((name) => name.endsWith('.graphql'))
      .sort()
      .map((name) => ({ file: `${folder}/${name}`, text: readFileSync(new URL(`${folder}/${name}`, root), 'utf8') })),
  );
}

/** `{ sha256: text }` with entries in file order, so that the committed file diffs readably. */
export function manifestJson(operations: OperationFile[]): string {
  return `${JSON.stringify(Object.fromEntries(operations.map(({ text }) => [documentHash(text), text])), null, 2)}\n`;
}

/** Problems that would make a trusted document useless or ambiguous, one line each. */
export function operationProblems(operations: OperationFile[], supergraphSdl: string): string[] {
  // The supergraph's types and fields are the API's (plus join__ bookkeeping no operation can
  // select); subgraph-only fields such as _entities are not in it.
  // Plus @defer, which the gateway accepts (gateway/src/defer) though the supergraph does not declare it.
  const schema = buildSchema(`${supergraphSdl}\ndirective @defer(if: Boolean! = true, label: String) on FRAGMENT_SPREAD | INLINE_FRAGMENT\n`);
  const rules = [...specifiedRules, ...operationLimits(defaultOperationLimits).validationRules];
  const problems: string[] = [];
  const names = new Map<string, string>();
  // Demand control's estimate with every variable at its default: a trusted document must be
  // within the cost limit as written (clients' variables are checked on each request).
  const costSchema = graphql.buildSchema(supergraphSdl);
  const costDirectives = costDirectivesFromSupergraph(supergraphSdl);
  for (const { file, text } of operations) {
    let document: DocumentNode;
    try {
      document = parse(text, { maxTokens: defaultOperationLimits.maxTokens });
    } catch (error) {
      problems.push(`${file}: ${(error as Error).message}`);
      continue;
    }
    for (const error of validate(schema, document, rules)) problems.push(`${file}: ${error.message}`);
    const fragments = Object.fromEntries(document.definitions.flatMap((d) => (d.kind === Kind.FRAGMENT_DEFINITION ? [[d.name.value, d] as const] : [])));
    for (const definition of document.definitions) {
      if (definition.kind !== Kind.OPERATION_DEFINITION) continue;
      const cost = estimateCost(costSchema, costDirectives, definition, fragments, {});
      if (cost > defaultOperationLimits.maxCost) problems.push(`${file}: estimated cost ${cost} exceeds the limit of ${defaultOperationLimits.maxCost}`);
    }
    for (const definition of document.definitions) {
      if (definition.kind !== Kind.OPERATION_DEFINITION) continue;
      const name = definition.name?.value;
      // Names are how logs and clients tell operations apart.
      if (!name) problems.push(`${file}: every operation needs a name`);
      else if (names.has(name)) problems.push(`${file}: operation ${name} is also defined in ${names.get(name)}`);
      else names.set(name, file);
    }
  }
  return problems;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const operations = readOperationFiles();
  const problems = operationProblems(operations, readFileSync(new URL('gateway/supergraph.graphql', root), 'utf8'));
  if (problems.length > 0) {
    console.error(`trusted documents are not valid:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    process.exit(1);
  }
  const json = manifestJson(operations);
  if (process.argv.includes('--check')) {
    let committed = '';
    try {
      committed = readFileSync(trustedDocumentsPath, 'utf8');
    } catch {}
    if (committed !== json) {
      console.error('gateway/trusted-documents.json is stale: run `npm run trusted-documents -w @mercado/gateway` and commit the result');
      process.exit(1);
    }
    console.log(`trusted documents are up to date (${operations.length} documents)`);
  } else {
    writeFileSync(trustedDocumentsPath, json);
    console.log(`wrote ${trustedDocumentsPath} (${operations.length} documents)`);
  }
}
