import * as z from 'zod';
import { badInput, notFound, onceForKey, parseInput } from '@mercado/service-kit';
import { appendToOutbox } from '@mercado/event-bus';
import type { Db, Tx } from '../db.ts';
import { ProductCreated } from '../events/ProductCreated.ts';
import { ProductPriceChanged } from '../events/ProductPriceChanged.ts';
import type { Product } from '../generated/prisma/client.ts';

export type { Product };

const MAX_PAGE = 100;

/** Cursors are opaque to clients: base64url of the last SKU on the page. */
const encodeCursor = (sku: string) => Buffer.from(`sku:${sku}`).toString('base64url');
function decodeCursor(cursor: string): string {
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!text.startsWith('sku:')) throw badInput('after is not a cursor returned by this API', 'after');
  return text.slice(4);
}

export async function listProducts(db: Db, args: { first: number; after?: string | null; category?: string | null }) {
  if (!Number.isInteger(args.first) || args.first < 1 || args.first > MAX_PAGE) {
    throw badInput(`first must be between 1 and ${MAX_PAGE}`, 'first');
  }
  const where = args.category ? { category: args.category } : {};
  const afterSku = args.after ? decodeCursor(args.after) : undefined;
  const [rows, totalCount] = await Promise.all([
    db.product.findMany({
      where: afterSku ? { ...where, sku: { gt: afterSku } } : where,
      orderBy: { sku: 'asc' },
      take: args.first + 1,
    }),
    db.product.count({ where }),
  ]);
  const page = rows.slice(0, args.first);
  return {
    edges: page.map((node) => ({ cursor: encodeCursor(node.sku), node })),
    pageInfo: { hasNextPage: rows.length > args.first, endCursor: page.length ? encodeCursor(page.at(-1)!.sku) : null },
    totalCount,
  };
}

/** One query for any number of ids; the result is in the order of `ids`, null where unknown. */
export async function productsByIds(db: Db, ids: readonly string[]): Promise<Array<Product | null>> {
  const rows = await db.product.findMany({ where: { id: { in: [...ids] } } });
  const byId = new Map(rows.map((p) => [p.id, p]));
  return ids.map((id) => byId.get(id) ?? null);
}

export async function getProduct(db: Db, id: string): Promise<Product> {
  const product = await db.product.findUnique({ where: { id } });
  if (!product) throw notFound('Product', id);
  return product;
}

export async function listCategories(db: Db): Promise<string[]> {
  const rows = await db.product.findMany({ distinct: ['category'], select: { category: true }, orderBy: { category: 'asc' } });
  return rows.map((r) => r.category);
}

const newProduct = z.object({
  sku: z.string().trim().regex(/^[A-Z0-9][A-Z0-9-]{1,31}$/, 'sku is 2-32 upper-case letters, digits or dashes'),
  name: z.string().trim().min(1, 'name is required').max(200, 'name is at most 200 characters'),
  description: z.string().max(5000, 'description is at most 5000 characters'),
  priceCents: z.number().int().min(0, 'priceCents cannot be negative').max(100_000_000, 'priceCents is too large'),
  currency: z.string().regex(/^[A-Z]{3}$/, 'currency is an ISO 4217 code such as EUR'),
  category: z.string().trim().min(1).max(64, 'category is at most 64 characters'),
});

/**
 * Creates a product and announces it (ProductCreated) in the same transaction. With an
 * idempotency key, once per key of the admin who sends it: the same request again returns the
 * product the first one created.
 */
export async function createProduct(db: Db, input: unknown, options: { id?: string; idempotency?: { key: string; by: string } } = {}): Promise<Product> {
  const data = parseInput(newProduct, input);
  const insert = async (tx: Tx) => {
    const product = await tx.product.create({ data: { ...data, ...(options.id ? { id: options.id } : {}) } });
    await appendToOutbox(tx, ProductCreated(product));
    return product;
  };
  try {
    if (!options.idempotency) return await db.$transaction(insert);
    const { key, by } = options.idempotency;
    const created = await onceForKey(db, { scope: `createProduct:${by}`, key, request: data }, async (tx) => ({ id: (await insert(tx)).id }));
    return getProduct(db, created.id);
  } catch (error) {
    if ((error as { code?: string }).code === 'P2002') throw badInput(`a product with sku ${data.sku} already exists`, 'sku');
    throw error;
  }
}

/**
 * Changes the price, bumps the version and announces it (ProductPriceChanged), atomically. The
 * price it already has changes nothing (no new version, no event): a client may send it again
 * when its answer was lost.
 */
export async function updateProductPrice(db: Db, id: string, priceCents: number): Promise<Product> {
  parseInput(z.object({ priceCents: newProduct.shape.priceCents }), { priceCents });
  return db.$transaction(async (tx) => {
    // Row lock: two concurrent price changes get consecutive versions, each with its own event.
    const [existing] = await tx.$queryRaw<Array<{ priceCents: number }>>`SELECT "priceCents" FROM "Product" WHERE "id" = ${id}::uuid FOR UPDATE`;
    if (!existing) throw notFound('Product', id);
    if (existing.priceCents === priceCents) return tx.product.findUniqueOrThrow({ where: { id } });
    const product = await tx.product.update({ where: { id }, data: { priceCents, version: { increment: 1 } } });
    await appendToOutbox(tx, ProductPriceChanged(product, existing.priceCents));
    return product;
  });
}

/** In stock per the replica of inventory's stock events; unknown products count as not in stock. */
export async function inStockByIds(db: Db, ids: readonly string[]): Promise<boolean[]> {
  const rows = await db.stockReplica.findMany({ where: { productId: { in: [...ids] } } });
  const available = new Map(rows.map((r) => [r.productId, r.available]));
  return ids.map((id) => (available.get(id) ?? 0) > 0);
}
