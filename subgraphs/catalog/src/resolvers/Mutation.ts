import { assertId, requireAdmin } from '@mercado/service-kit';
import type { CatalogContext } from '../context.ts';
import { createProduct, updateProductPrice } from '../domain/products.ts';

export const Mutation = {
  createProduct: (_: unknown, args: { input: unknown }, ctx: CatalogContext) => {
    requireAdmin(ctx.viewer);
    return createProduct(ctx.db, args.input);
  },
  updateProductPrice: (_: unknown, args: { id: string; priceCents: number }, ctx: CatalogContext) => {
    requireAdmin(ctx.viewer);
    return updateProductPrice(ctx.db, assertId(args.id), args.priceCents);
  },
};
