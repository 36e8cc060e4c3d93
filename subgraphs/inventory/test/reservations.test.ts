import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '@mercado/service-kit/testing';
import { createDb, type Db } from '../src/db.ts';
import { createMissingStock, restock } from '../src/domain/stock.ts';
import { stockCommands } from '../src/index.ts';

const { commitReservation, releaseReservation, reserveStock, returnStock, stockLedger } = stockCommands;

const migrations = new URL('../../../prisma/inventory/migrations', import.meta.url).pathname;

let database: TestDatabase;
let db: Db;

beforeAll(async () => {
  database = await createTestDatabase('inventory', migrations);
  db = createDb(database.url);
});

afterAll(async () => {
  await db?.$disconnect();
  await database?.drop();
});

/** A fresh product with `available` units and nothing reserved (announced at version 1, as the seed does). */
async function stocked(available: number): Promise<string> {
  const productId = randomUUID();
  await createMissingStock(db, [{ productId, available }]);
  return productId;
}

/** `count` fresh products, in product id order (the order reservations lock them in). */
const stockedInOrder = async (...available: number[]) => {
  const ids = Array.from({ length: available.length }, () => randomUUID()).sort();
  await createMissingStock(db, ids.map((productId, i) => ({ productId, available: available[i]! })));
  return ids;
};

const levels = (productId: string) =>
  db.stockItem.findUniqueOrThrow({ where: { productId }, select: { available: true, reserved: true } });

const saga = () => `saga-${randomUUID()}`;

const reservationsOf = (sagaId: string) =>
  db.reservation.findMany({ where: { sagaId }, orderBy: { productId: 'asc' } });

/** The StockChanged events of a product, oldest first: version and announced levels. */
async function stockEvents(productId: string) {
  const rows = await db.outboxEvent.findMany({ where: { aggregateId: productId, type: 'StockChanged' }, orderBy: { position: 'asc' } });
  return rows.map((row) => ({ version: row.version, ...(row.payload as { available: number; reserved: number }) }));
}

describe('the happy paths', () => {
  it('reserve holds the units and commit sells them', async () => {
    const [a, b] = await stockedInOrder(10, 5);
    const sagaId = saga();

    // Two lines for `a` are one reservation of 3 units.
    expect(await reserveStock(db, { sagaId, lines: [{ productId: b!, quantity: 5 }, { productId: a!, quantity: 1 }, { productId: a!, quantity: 2 }] })).toEqual({ ok: true });
    expect(await levels(a!)).toEqual({ available: 7, reserved: 3 });
    expect(await levels(b!)).toEqual({ available: 0, reserved: 5 });
    expect(await reservationsOf(sagaId)).toMatchObject([
      { productId: a, quantity: 3, status: 'RESERVED', createdAt: expect.any(Date), committedAt: null },
      { productId: b, quantity: 5, status: 'RESERVED' },
    ]);

    expect(await commitReservation(db, { sagaId })).toEqual({ ok: true });
    expect(await levels(a!)).toEqual({ available: 7, reserved: 0 });
    expect(await levels(b!)).toEqual({ available: 0, reserved: 0 });
    expect(await reservationsOf(sagaId)).toMatchObject([
      { productId: a, status: 'COMMITTED', committedAt: expect.any(Date) },
      { productId: b, status: 'COMMITTED', committedAt: expect.any(Date) },
    ]);
    expect(await stockLedger(db, [a!, b!])).toEqual([
      { productId: a, available: 7, reserved: 0, sold: 3 },
      { productId: b, available: 0, reserved: 0, sold: 5 },
    ]);
  });

  it('release puts reserved units back on the shelf', async () => {
    const productId = await stocked(8);
    const sagaId = saga();
    await reserveStock(db, { sagaId, lines: [{ productId, quantity: 6 }] });
    expect(await releaseReservation(db, { sagaId })).toEqual({ ok: true });
    expect(await levels(productId)).toEqual({ available: 8, reserved: 0 });
    expect(await reservationsOf(sagaId)).toMatchObject([{ status: 'RELEASED', releasedAt: expect.any(Date), committedAt: null }]);
    expect(await stockLedger(db, [productId])).toEqual([{ productId, available: 8, reserved: 0, sold: 0 }]);
  });

  it('returnStock gives a sold reservation back once', async () => {
    const [a, b] = await stockedInOrder(4, 4);
    const orderSagaId = saga();
    await reserveStock(db, { sagaId: orderSagaId, lines: [{ productId: a!, quantity: 2 }, { productId: b!, quantity: 3 }] });
    await commitReservation(db, { sagaId: orderSagaId });
    expect(await stockLedger(db, [a!, b!])).toEqual([
      { productId: a, available: 2, reserved: 0, sold: 2 },
      { productId: b, available: 1, reserved: 0, sold: 3 },
    ]);

    const cancelSagaId = saga();
    expect(await returnStock(db, { sagaId: cancelSagaId, orderSagaId })).toEqual({ ok: true });
    expect(await returnStock(db, { sagaId: cancelSagaId, orderSagaId })).toEqual({ ok: true });
    expect(await stockLedger(db, [a!, b!])).toEqual([
      { productId: a, available: 4, reserved: 0, sold: 0 },
      { productId: b, available: 4, reserved: 0, sold: 0 },
    ]);
    expect(await reservationsOf(orderSagaId)).toMatchObject([
      { status: 'RETURNED', returnedAt: expect.any(Date), returnedBySagaId: cancelSagaId },
      { status: 'RETURNED', returnedAt: expect.any(Date), returnedBySagaId: cancelSagaId },
    ]);
    // Another cancellation of the same order finds nothing left to return.
    expect(await returnStock(db, { sagaId: saga(), orderSagaId })).toMatchObject({ ok: false, reason: 'NOT_COMMITTED', message: expect.stringContaining('RETURNED') });
    expect(await levels(a!)).toEqual({ available: 4, reserved: 0 });
  });
});

describe('idempotency per (sagaId, step)', () => {
  it('repeating each operation has exactly one effect and returns the first result', async () => {
    const productId = await stocked(10);
    const sagaId = saga();
    const command = { sagaId, lines: [{ productId, quantity: 4 }] };

    expect(await reserveStock(db, command)).toEqual({ ok: true });
    expect(await reserveStock(db, command)).toEqual({ ok: true });
    // The key decides, not the payload: a redelivery is never a second reservation.
    expect(await reserveStock(db, { sagaId, lines: [{ productId, quantity: 9 }] })).toEqual({ ok: true });
    expect(await levels(productId)).toEqual({ available: 6, reserved: 4 });

    expect(await commitReservation(db, { sagaId })).toEqual({ ok: true });
    expect(await commitReservation(db, { sagaId })).toEqual({ ok: true });
    expect(await levels(productId)).toEqual({ available: 6, reserved: 0 });

    const released = saga();
    await reserveStock(db, { sagaId: released, lines: [{ productId, quantity: 5 }] });
    expect(await releaseReservation(db, { sagaId: released })).toEqual({ ok: true });
    expect(await releaseReservation(db, { sagaId: released })).toEqual({ ok: true });
    expect(await levels(productId)).toEqual({ available: 6, reserved: 0 });

    expect(await db.processedCommand.findMany({ where: { sagaId }, select: { step: true }, orderBy: { step: 'asc' } })).toEqual([
      { step: 'commit' },
      { step: 'reserve' },
    ]);
    // Initial level, reserve, commit, reserve, release: one event per effect.
    expect((await stockEvents(productId)).map((e) => e.version)).toEqual([1, 2, 3, 4, 5]);
  });

  it('a repeated release gives back its own units only', async () => {
    const productId = await stocked(10);
    const mine = saga();
    const other = saga();
    await reserveStock(db, { sagaId: mine, lines: [{ productId, quantity: 2 }] });
    await reserveStock(db, { sagaId: other, lines: [{ productId, quantity: 3 }] });
    await releaseReservation(db, { sagaId: mine });
    await releaseReservation(db, { sagaId: mine });
    // Releasing twice would have taken the other saga's units with it.
    expect(await levels(productId)).toEqual({ available: 7, reserved: 3 });
  });

  it('concurrent deliveries of one command act once', async () => {
    const [a, b] = await stockedInOrder(20, 20);
    const sagaId = saga();
    const command = { sagaId, lines: [{ productId: b!, quantity: 2 }, { productId: a!, quantity: 3 }] };
    const times = <T>(n: number, run: () => Promise<T>) => Promise.all(Array.from({ length: n }, run));

    expect(new Set((await times(10, () => reserveStock(db, command))).map((r) => JSON.stringify(r)))).toEqual(new Set(['{"ok":true}']));
    expect([await levels(a!), await levels(b!)]).toEqual([{ available: 17, reserved: 3 }, { available: 18, reserved: 2 }]);

    expect(await times(10, () => commitReservation(db, { sagaId }))).toEqual(Array(10).fill({ ok: true }));
    expect([await levels(a!), await levels(b!)]).toEqual([{ available: 17, reserved: 0 }, { available: 18, reserved: 0 }]);

    const cancelSagaId = saga();
    expect(await times(10, () => returnStock(db, { sagaId: cancelSagaId, orderSagaId: sagaId }))).toEqual(Array(10).fill({ ok: true }));
    expect([await levels(a!), await levels(b!)]).toEqual([{ available: 20, reserved: 0 }, { available: 20, reserved: 0 }]);

    const released = saga();
    await reserveStock(db, { sagaId: released, lines: [{ productId: a!, quantity: 5 }] });
    expect(await times(10, () => releaseReservation(db, { sagaId: released }))).toEqual(Array(10).fill({ ok: true }));
    expect(await levels(a!)).toEqual({ available: 20, reserved: 0 });
  });

  it('an invalid command is refused without a record, so a correct one can follow', async () => {
    const productId = await stocked(5);
    const sagaId = saga();
    const invalid = [
      { sagaId, lines: [] },
      { sagaId, lines: [{ productId, quantity: 0 }] },
      { sagaId, lines: [{ productId, quantity: 1.5 }] },
      { sagaId, lines: [{ productId, quantity: 1 }, { productId: 'not-a-uuid', quantity: 1 }] },
      { sagaId: '', lines: [{ productId, quantity: 1 }] },
    ];
    const results = await Promise.all(invalid.map((command) => reserveStock(db, command)));
    expect(results.map((r) => !r.ok && r.reason === 'INVALID_COMMAND' && r.message)).toEqual([
      'lines cannot be empty',
      'lines.0: quantity must be at least 1',
      'lines.0: quantity must be a whole number',
      'lines.1: productId is not a valid id',
      'sagaId is required',
    ]);
    expect(await commitReservation(db, { sagaId: '' })).toMatchObject({ ok: false, reason: 'INVALID_COMMAND' });
    expect(await returnStock(db, { sagaId, orderSagaId: '' })).toMatchObject({ ok: false, reason: 'INVALID_COMMAND', message: 'orderSagaId is required' });
    expect(await db.processedCommand.count({ where: { sagaId } })).toBe(0);

    expect(await reserveStock(db, { sagaId, lines: [{ productId: productId.toUpperCase(), quantity: 5 }] })).toEqual({ ok: true });
    expect(await levels(productId)).toEqual({ available: 0, reserved: 5 });
  });
});

describe('refusals change nothing', () => {
  it('a shortfall on any line reserves none of the lines', async () => {
    const [plenty, scarce] = await stockedInOrder(10, 2);
    const sagaId = saga();
    // `plenty` sorts first: a line-by-line implementation would have taken it before finding the shortfall.
    const result = await reserveStock(db, { sagaId, lines: [{ productId: plenty!, quantity: 4 }, { productId: scarce!, quantity: 3 }] });
    expect(result).toEqual({ ok: false, reason: 'INSUFFICIENT_STOCK', productId: scarce });
    expect(await levels(plenty!)).toEqual({ available: 10, reserved: 0 });
    expect(await levels(scarce!)).toEqual({ available: 2, reserved: 0 });
    expect(await reservationsOf(sagaId)).toEqual([]);
    expect((await stockEvents(plenty!)).map((e) => e.version)).toEqual([1]);

    // The answer is stored: a redelivery after a restock still gets it, and still changes nothing.
    await db.productReplica.create({ data: { id: scarce!, version: 1, updatedAt: new Date() } }); // the catalog announced it
    await restock(db, scarce!, 10);
    expect(await reserveStock(db, { sagaId, lines: [{ productId: plenty!, quantity: 4 }, { productId: scarce!, quantity: 3 }] })).toEqual(result);
    expect(await levels(plenty!)).toEqual({ available: 10, reserved: 0 });

    // Compensating a refused reservation succeeds without effect; there is nothing to commit.
    expect(await commitReservation(db, { sagaId })).toMatchObject({ ok: false, reason: 'NO_RESERVATION' });
    expect(await releaseReservation(db, { sagaId })).toEqual({ ok: true });
    expect(await levels(plenty!)).toEqual({ available: 10, reserved: 0 });
    expect(await levels(scarce!)).toEqual({ available: 12, reserved: 0 });
  });

  it('a product inventory has never stocked has nothing available', async () => {
    const stockedProduct = await stocked(5);
    const unknown = randomUUID();
    const sagaId = saga();
    expect(await reserveStock(db, { sagaId, lines: [{ productId: stockedProduct, quantity: 1 }, { productId: unknown, quantity: 1 }] })).toEqual({
      ok: false,
      reason: 'INSUFFICIENT_STOCK',
      productId: unknown,
    });
    expect(await levels(stockedProduct)).toEqual({ available: 5, reserved: 0 });
    expect(await db.stockItem.count({ where: { productId: unknown } })).toBe(0);
  });

  it('everything that is available can be reserved', async () => {
    const productId = await stocked(3);
    expect(await reserveStock(db, { sagaId: saga(), lines: [{ productId, quantity: 3 }] })).toEqual({ ok: true });
    expect(await reserveStock(db, { sagaId: saga(), lines: [{ productId, quantity: 1 }] })).toEqual({ ok: false, reason: 'INSUFFICIENT_STOCK', productId });
    expect(await levels(productId)).toEqual({ available: 0, reserved: 3 });
  });
});

describe('compensations and impossible transitions', () => {
  it('a reservation arriving after its release is refused and has no effect', async () => {
    const productId = await stocked(5);
    const sagaId = saga();
    expect(await releaseReservation(db, { sagaId })).toEqual({ ok: true });
    expect(await reserveStock(db, { sagaId, lines: [{ productId, quantity: 2 }] })).toEqual({ ok: false, reason: 'CANCELLED' });
    expect(await levels(productId)).toEqual({ available: 5, reserved: 0 });
    expect(await reservationsOf(sagaId)).toEqual([]);
    expect((await stockEvents(productId)).map((e) => e.version)).toEqual([1]);
    expect(await commitReservation(db, { sagaId })).toMatchObject({ ok: false, reason: 'NO_RESERVATION' });
  });

  it('refuses transitions the reservation cannot make, without effect', async () => {
    const productId = await stocked(10);

    const released = saga();
    await reserveStock(db, { sagaId: released, lines: [{ productId, quantity: 2 }] });
    await releaseReservation(db, { sagaId: released });
    expect(await commitReservation(db, { sagaId: released })).toMatchObject({ ok: false, reason: 'INVALID_TRANSITION', message: expect.stringContaining('RELEASED') });
    expect(await returnStock(db, { sagaId: saga(), orderSagaId: released })).toMatchObject({ ok: false, reason: 'NOT_COMMITTED' });

    const sold = saga();
    await reserveStock(db, { sagaId: sold, lines: [{ productId, quantity: 3 }] });
    expect(await returnStock(db, { sagaId: saga(), orderSagaId: sold })).toMatchObject({ ok: false, reason: 'NOT_COMMITTED', message: expect.stringContaining('RESERVED') });
    await commitReservation(db, { sagaId: sold });
    // Sold units go back through returnStock, never through a release.
    expect(await releaseReservation(db, { sagaId: sold })).toMatchObject({ ok: false, reason: 'INVALID_TRANSITION', message: expect.stringContaining('COMMITTED') });

    expect(await commitReservation(db, { sagaId: saga() })).toMatchObject({ ok: false, reason: 'NO_RESERVATION' });
    expect(await returnStock(db, { sagaId: saga(), orderSagaId: saga() })).toMatchObject({ ok: false, reason: 'NOT_COMMITTED', message: expect.stringContaining('no reservation') });

    expect(await stockLedger(db, [productId])).toEqual([{ productId, available: 7, reserved: 0, sold: 3 }]);
  });

  it('the database refuses a reservation of no units, whatever writes it', async () => {
    const productId = await stocked(1);
    await expect(db.reservation.create({ data: { sagaId: saga(), productId, quantity: 0, status: 'RESERVED' } })).rejects.toThrow(/Reservation_quantity_positive/);
  });

  it('a release racing its own reservation never leaves units reserved', async () => {
    const productId = await stocked(1_000);
    const sagas = Array.from({ length: 20 }, saga);
    const results = await Promise.all(
      sagas.map(async (sagaId) => {
        const [reserved, released] = await Promise.all([
          reserveStock(db, { sagaId, lines: [{ productId, quantity: 7 }] }),
          releaseReservation(db, { sagaId }),
        ]);
        expect(released).toEqual({ ok: true });
        return reserved;
      }),
    );
    expect(results.every((r) => r.ok || r.reason === 'CANCELLED')).toBe(true);
    expect(await levels(productId)).toEqual({ available: 1_000, reserved: 0 });
    expect(await db.reservation.count({ where: { productId, status: 'RESERVED' } })).toBe(0);
  });
});

describe('a burst of reservations', () => {
  it('200 concurrent reservations never oversell, and stock is conserved through commits and releases', async () => {
    const initial = [12, 30, 5, 0, 60];
    const products = await stockedInOrder(...initial);
    // Single units; every third saga also takes one of a second product, listed first, so that
    // sagas ask for rows in both orders (a deadlock unless locks are taken in one order).
    const commands = Array.from({ length: 200 }, (_, i) => {
      const lines = [{ productId: products[i % 5]!, quantity: 1 }];
      if (i % 3 === 0) lines.unshift({ productId: products[(i + 2) % 5]!, quantity: 1 });
      return { sagaId: saga(), lines };
    });

    const results = await Promise.all(commands.map((command) => reserveStock(db, command)));
    const reserved = commands.filter((_, i) => results[i]!.ok);
    const refused = results.filter((r) => !r.ok);
    expect(refused.every((r) => r.reason === 'INSUFFICIENT_STOCK')).toBe(true);
    expect(reserved.length).toBeGreaterThan(0);
    expect(refused.length).toBeGreaterThan(0);

    const unitsOf = (sagas: typeof commands, productId: string) =>
      sagas.reduce((sum, c) => sum + c.lines.filter((line) => line.productId === productId).length, 0);
    const afterBurst = await stockLedger(db, products);
    for (const [i, productId] of products.entries()) {
      expect(afterBurst[i]).toEqual({ productId, available: initial[i]! - unitsOf(reserved, productId), reserved: unitsOf(reserved, productId), sold: 0 });
    }
    // Stock only went down during the burst: a product that was short then is empty now.
    for (const r of refused) {
      if (r.reason === 'INSUFFICIENT_STOCK') expect(afterBurst.find((e) => e.productId === r.productId)!.available).toBe(0);
    }

    // Commit every other successful reservation and release the rest, all at once; the
    // refused ones are compensated too, as the saga would.
    const committed = reserved.filter((_, i) => i % 2 === 0);
    const releasedBack = reserved.filter((_, i) => i % 2 === 1);
    const outcomes = await Promise.all([
      ...committed.map(({ sagaId }) => commitReservation(db, { sagaId })),
      ...releasedBack.map(({ sagaId }) => releaseReservation(db, { sagaId })),
      ...commands.filter((_, i) => !results[i]!.ok).map(({ sagaId }) => releaseReservation(db, { sagaId })),
    ]);
    expect(outcomes.every((o) => o.ok)).toBe(true);

    const ledger = await stockLedger(db, products);
    for (const [i, entry] of ledger.entries()) {
      expect(entry.available + entry.reserved + entry.sold).toBe(initial[i]);
      expect(entry).toEqual({
        productId: products[i],
        available: initial[i]! - unitsOf(committed, products[i]!),
        reserved: 0,
        sold: unitsOf(committed, products[i]!),
      });
    }

    // Every change was announced exactly once, in version order, and the last announcement is
    // what the row holds now: the catalog's replica ends up right.
    for (const productId of products) {
      const events = await stockEvents(productId);
      const row = await db.stockItem.findUniqueOrThrow({ where: { productId } });
      expect(events.map((e) => e.version)).toEqual(Array.from({ length: row.version }, (_, i) => i + 1));
      expect(events.at(-1)).toEqual({ version: row.version, available: row.available, reserved: row.reserved });
      const touches = unitsOf(reserved, productId) * 2; // one reserve and one commit or release each
      expect(row.version).toBe(1 + touches);
    }
    // Not a speed check: room for 400 transactions on a busy two-core machine.
  }, 120_000);
});

describe('StockChanged', () => {
  it('announces every step with the new levels and an increasing version', async () => {
    const productId = await stocked(10);
    const order = saga();
    const abandoned = saga();
    await reserveStock(db, { sagaId: order, lines: [{ productId, quantity: 4 }] });
    await reserveStock(db, { sagaId: abandoned, lines: [{ productId, quantity: 1 }] });
    await commitReservation(db, { sagaId: order });
    await releaseReservation(db, { sagaId: abandoned });
    await returnStock(db, { sagaId: saga(), orderSagaId: order });

    expect(await stockEvents(productId)).toEqual([
      { version: 1, available: 10, reserved: 0 },
      { version: 2, available: 6, reserved: 4 },
      { version: 3, available: 5, reserved: 5 },
      { version: 4, available: 5, reserved: 1 },
      { version: 5, available: 6, reserved: 0 },
      { version: 6, available: 10, reserved: 0 },
    ]);
    expect(await db.stockItem.findUniqueOrThrow({ where: { productId } })).toMatchObject({ version: 6, available: 10, reserved: 0 });
  });
});
