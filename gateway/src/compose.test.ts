import { Kind, parse, type ObjectTypeDefinitionNode } from 'graphql';
import { describe, expect, it } from 'vitest';
import { composeSupergraph } from './compose.ts';

describe('composition', () => {
  it('composes the subgraphs into a supergraph with their entities joined', () => {
    const sdl = composeSupergraph();
    const product = parse(sdl).definitions.find(
      (d): d is ObjectTypeDefinitionNode => d.kind === Kind.OBJECT_TYPE_DEFINITION && d.name.value === 'Product',
    )!;
    expect(product.fields!.map((f) => f.name.value).sort()).toEqual(['averageRating', 'category', 'currency', 'description', 'id', 'inStock', 'name', 'priceCents', 'reviews', 'sku', 'stock']);
    for (const name of ['ACCOUNTS', 'CATALOG', 'INVENTORY', 'ORDERS', 'PAYMENTS', 'REVIEWS']) expect(sdl).toMatch(new RegExp(`${name} @join__graph`));
  });
});
