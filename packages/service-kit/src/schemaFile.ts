import { readFileSync } from 'node:fs';
import { gql } from 'graphql-tag';
import type { DocumentNode } from 'graphql';

/** Reads a subgraph's schema.graphql (the file composition also reads). */
export function loadSchemaFile(url: URL): DocumentNode {
  return gql(readFileSync(url, 'utf8'));
}
