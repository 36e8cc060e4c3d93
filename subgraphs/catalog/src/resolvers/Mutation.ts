import { assertId, requireAdmin } from '@mercado/service-kit';
import type { CatalogContext } from '../context.ts';
import { createProduct, updateProductPrice } from '../domain/products.ts';

export const Mutation = {
  createProduct: (_: unknown, args: { input: unknown; idempotencyKey?: string | null }, ctx: CatalogContext) => {
    const admin = requireAdmin(ctx.viewer);
    return createProduct(ctx.db, args.input, args.idempotencyKey == null ? {} : { idempotency: { key: args.idempotencyKey, by: admin.id } });
  },
  updateProductPrice: (_: unknown, args: { id: string; priceCents: number }, ctx: CatalogContext) => {
    requireAdmin(ctx.viewer);
    return updateProductPrice(ctx.db, assertId(args.id), args.priceCents);
  },
};
