import * as z from 'zod';
import { notFound, onceForKey, parseInput } from '@mercado/service-kit';
import { appendToOutbox } from '@mercado/event-bus';
import type { Db, Tx } from '../db.ts';
import { StockChanged } from '../events/StockChanged.ts';

/** What the graph exposes of a product's stock. */
export interface Stock {
  available: number;
  reserved: number;
}

const MAX_RESTOCK = 100_000;

/** Mirrors the CHECK constraints in the migration, so bad levels fail as input errors first. */
const stockLevel = z.number().int('stock levels are whole units').min(0, 'stock levels cannot be negative');

// An object so the BAD_USER_INPUT error names the field.
const restockInput = z.object({
  quantity: z
    .number()
    .int('quantity must be a whole number')
    .min(1, 'quantity must be at least 1')
    .max(MAX_RESTOCK, `quantity must be at most ${MAX_RESTOCK}`),
});

/** Stock of a product inventory has never stocked, or of an id that cannot exist. */
export const zeroStock = (): Stock => ({ available: 0, reserved: 0 });

/** One query for any number of product ids; in the order of `ids`, zeros where there is no row. */
export async function stockByProductIds(db: Db, productIds: readonly string[]): Promise<Stock[]> {
  const rows = await db.stockItem.findMany({
    where: { productId: { in: [...productIds] } },
    select: { productId: true, available: true, reserved: true },
  });
  const byId = new Map(rows.map(({ productId, ...stock }) => [productId, stock]));
  return productIds.map((id) => byId.get(id) ?? zeroStock());
}

/**
 * Adds `quantity` units to the product's available stock, creating the row on first restock.
 * A single INSERT ... ON CONFLICT DO UPDATE SET available = available + n, so concurrent
 * restocks never lose an update (no read-modify-write). A product the catalog never announced
 * is refused (NOT_FOUND).
 */
export async function restock(db: Db, productId: string, quantity: number): Promise<Stock> {
  const n = await checkRestock(db, productId, quantity);
  return db.$transaction((tx) => addStock(tx, productId, n));
}

/**
 * `restock` once per idempotency key of the admin who sends it: the same request again returns
 * the first answer and adds nothing (a client whose answer was lost can retry safely).
 */
export async function restockOnce(db: Db, key: { key: string; by: string }, productId: string, quantity: number): Promise<Stock> {
  const n = await checkRestock(db, productId, quantity);
  return onceForKey(db, { scope: `restock:${key.by}`, key: key.key, request: { productId, quantity: n } }, (tx) => addStock(tx, productId, n));
}

async function checkRestock(db: Db, productId: string, quantity: number): Promise<number> {
  const { quantity: n } = parseInput(restockInput, { quantity });
  // Which products exist, inventory knows from the catalog's events (its ProductReplica), without
  // calling the catalog. A product created a moment ago may not have arrived yet: the admin is
  // told it was not found and can try again.
  if (!(await db.productReplica.findUnique({ where: { id: productId }, select: { id: true } }))) throw notFound('Product', productId);
  return n;
}

/** Adds units to the product's stock row (created on first restock), announces it, returns the levels. */
async function addStock(tx: Tx, productId: string, n: number): Promise<Stock> {
  // Raw SQL rather than Prisma's upsert: Prisma emits a native upsert only under conditions
  // it checks itself; its fallback (select, then insert or update) races on a first restock.
  const [row] = await tx.$queryRaw<Array<Stock & { version: number }>>`
    INSERT INTO "StockItem" ("productId", "available", "reserved", "updatedAt")
    VALUES (${productId}::uuid, ${n}, 0, now())
    ON CONFLICT ("productId") DO UPDATE
      SET "available" = "StockItem"."available" + EXCLUDED."available", "updatedAt" = now(),
          "version" = "StockItem"."version" + 1
    RETURNING "available", "reserved", "version"`;
  const { version, ...stock } = row!;
  await appendToOutbox(tx, StockChanged(productId, version, stock));
  return stock;
}

/**
 * Creates a stock row for each product that has none; existing rows keep their levels, so
 * running it again never undoes sales or restocks. Returns how many rows were created.
 */
export async function createMissingStock(db: Db, items: ReadonlyArray<{ productId: string; available: number }>): Promise<number> {
  const data = items.map((item) => ({ productId: item.productId, available: parseInput(stockLevel, item.available), reserved: 0 }));
  return db.$transaction(async (tx) => {
    const created = await tx.stockItem.createManyAndReturn({ data, skipDuplicates: true });
    // Announced like any other change, so the catalog's replica learns the initial levels.
    await appendToOutbox(tx, ...created.map((row) => StockChanged(row.productId, row.version, row)));
    return created.length;
  });
}
