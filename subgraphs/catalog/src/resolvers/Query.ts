import { assertId } from '@mercado/service-kit';
import type { CatalogContext } from '../context.ts';
import { getProduct, listCategories, listProducts } from '../domain/products.ts';

export const Query = {
  products: (_: unknown, args: { first: number; after?: string | null; category?: string | null }, ctx: CatalogContext) =>
    listProducts(ctx.db, args),
  product: (_: unknown, args: { id: string }, ctx: CatalogContext) => getProduct(ctx.db, assertId(args.id)),
  categories: (_: unknown, __: unknown, ctx: CatalogContext) => listCategories(ctx.db),
};
