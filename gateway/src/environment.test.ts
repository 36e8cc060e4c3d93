import { describe, expect, it } from 'vitest';
import { subgraphUrlOverrides } from './environment.ts';

describe('SUBGRAPH_<NAME>_URL', () => {
  it('maps variables to subgraph names and ignores everything else', () => {
    expect(subgraphUrlOverrides({ SUBGRAPH_CATALOG_URL: 'http://catalog:4002/graphql', SUBGRAPH_X_URL: undefined, PORT: 4000 })).toEqual({ catalog: 'http://catalog:4002/graphql' });
  });
});
