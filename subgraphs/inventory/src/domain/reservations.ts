/**
 * The inventory side of the order saga: reserve, commit, release and return stock, each a
 * plain function over the database that the saga's workers call. Every operation is idempotent
 * per (sagaId, step) and returns its outcome as data; `ok: false` means retrying cannot help.
 * Every change to a stock row bumps its version and appends StockChanged in the same
 * transaction, so the catalog's replica follows reservations like any other change.
 */
import { z } from 'zod';
import { isId } from '@mercado/service-kit';
import { appendToOutbox, type IntegrationEvent } from '@mercado/event-bus';
import type { Db, Tx } from '../db.ts';
import type { Reservation, ReservationStatus } from '../generated/prisma/client.ts';
import { StockChanged } from '../events/StockChanged.ts';
import { hasProcessed, runOnce } from './processedCommands.ts';

export type { ReservationStatus };

/** A command the saga got wrong (a bug, not a state): retrying it cannot help. Nothing is recorded. */
export type InvalidCommand = { ok: false; reason: 'INVALID_COMMAND'; message: string };
/** The saga's reservation is not in a state the operation applies to. */
export type InvalidTransition = { ok: false; reason: 'INVALID_TRANSITION'; message: string };

export type ReserveResult =
  | { ok: true }
  /** The first product (in id order) with fewer units available than asked for. */
  | { ok: false; reason: 'INSUFFICIENT_STOCK'; productId: string }
  /** The saga released its stock before this reservation arrived: it must have no effect. */
  | { ok: false; reason: 'CANCELLED' }
  | InvalidCommand;

export type CommitResult = { ok: true } | { ok: false; reason: 'NO_RESERVATION'; message: string } | InvalidTransition | InvalidCommand;

export type ReleaseResult = { ok: true } | InvalidTransition | InvalidCommand;

export type ReturnResult = { ok: true } | { ok: false; reason: 'NOT_COMMITTED'; message: string } | InvalidCommand;

export interface ReserveCommand {
  sagaId: string;
  lines: ReadonlyArray<{ productId: string; quantity: number }>;
}

export interface ReservationCommand {
  sagaId: string;
}

export interface ReturnCommand {
  /** The cancellation saga: the operation is idempotent per this id. */
  sagaId: string;
  /** The order saga whose committed reservation goes back on the shelf. */
  orderSagaId: string;
}

/** One product's levels next to the units sold through reservations (committed, not returned). */
export interface LedgerEntry {
  productId: string;
  available: number;
  reserved: number;
  sold: number;
}

// The orders service validates what customers ask for; these bounds only keep a buggy or
// hostile command from reaching the database.
const MAX_QUANTITY = 100_000;
const MAX_LINES = 100;

const sagaId = (field: string) =>
  z.string().min(1, `${field} is required`).max(200, `${field} is at most 200 characters`);

const reserveCommand = z.object({
  sagaId: sagaId('sagaId'),
  lines: z
    .array(
      z.object({
        productId: z
          .string()
          .refine(isId, 'productId is not a valid id')
          .transform((s) => s.toLowerCase()),
        quantity: z
          .number()
          .int('quantity must be a whole number')
          .min(1, 'quantity must be at least 1')
          .max(MAX_QUANTITY, `quantity must be at most ${MAX_QUANTITY}`),
      }),
    )
    .min(1, 'lines cannot be empty')
    .max(MAX_LINES, `lines has at most ${MAX_LINES} entries`),
});

const reservationCommand = z.object({ sagaId: sagaId('sagaId') });

const returnCommand = z.object({ sagaId: sagaId('sagaId'), orderSagaId: sagaId('orderSagaId') });

function parseCommand<T>(schema: z.ZodType<T>, input: unknown): T | InvalidCommand {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  // Name the line ("lines.2: quantity must be at least 1"); top-level messages name their field.
  const where = issue.path.length > 1 ? `${issue.path.slice(0, -1).join('.')}: ` : '';
  return { ok: false, reason: 'INVALID_COMMAND', message: `${where}${issue.message}` };
}

const isInvalid = (value: object): value is InvalidCommand => 'reason' in value && value.reason === 'INVALID_COMMAND';

/**
 * One line per product, in product id order: the order every operation locks stock rows in,
 * so two sagas touching the same products never wait for each other in a cycle.
 */
function mergeLines(lines: ReadonlyArray<{ productId: string; quantity: number }>): Array<{ productId: string; quantity: number }> {
  const merged = new Map<string, number>();
  for (const { productId, quantity } of lines) merged.set(productId, (merged.get(productId) ?? 0) + quantity);
  return [...merged].map(([productId, quantity]) => ({ productId, quantity })).sort((a, b) => (a.productId < b.productId ? -1 : 1));
}

/**
 * Serializes every operation on one saga's reservation for the rest of the transaction.
 * Without it, a release that finds nothing reserved could commit just before a slow
 * reservation of the same saga (which cannot see the uncommitted release) holds stock that
 * nobody would ever release.
 */
async function lockSaga(tx: Tx, sagaId: string): Promise<void> {
  await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtextextended(${sagaId}, 0))`;
}

/** The saga's reservation lines, in product id order (the stock rows' lock order). */
const reservationsOf = (tx: Tx, sagaId: string) => tx.reservation.findMany({ where: { sagaId }, orderBy: { productId: 'asc' } });

/** The status the lines share, or the first that differs from `expected`. */
const statusOf = (lines: Reservation[], expected: ReservationStatus): ReservationStatus =>
  lines.find((line) => line.status !== expected)?.status ?? expected;

/**
 * Moves a product's levels by the given deltas, bumps its version and returns the StockChanged
 * event announcing the new levels. Refuses (by throwing, which rolls the whole command back and
 * records nothing) a move that would take a level below zero: callers check first, so that
 * means the reservations and the stock rows disagree, which no retry can mend silently.
 */
async function moveStock(tx: Tx, productId: string, delta: { available: number; reserved: number }): Promise<IntegrationEvent> {
  const [row] = await tx.$queryRaw<Array<{ available: number; reserved: number; version: number }>>`
    UPDATE "StockItem"
    SET "available" = "available" + ${delta.available}::int, "reserved" = "reserved" + ${delta.reserved}::int,
        "version" = "version" + 1, "updatedAt" = now()
    WHERE "productId" = ${productId}::uuid
      AND "available" + ${delta.available}::int >= 0 AND "reserved" + ${delta.reserved}::int >= 0
    RETURNING "available", "reserved", "version"`;
  if (!row) {
    throw new Error(`stock of product ${productId} cannot move by ${JSON.stringify(delta)}: it has no row or too few units`);
  }
  return StockChanged(productId, row.version, row);
}

/**
 * Moves the lines' units from available to reserved, all or nothing: when any product has
 * fewer units available than asked for (a product inventory has never stocked has none),
 * nothing changes and the answer names it. Lines for the same product are added up.
 *
 * A reservation arriving after its saga's release (the saga gave up waiting and compensated)
 * is refused with `CANCELLED` and changes nothing. The outcome is stored: a repeat of the
 * command, whatever its lines, returns it again.
 */
export async function reserveStock(db: Db, input: ReserveCommand): Promise<ReserveResult> {
  const command = parseCommand(reserveCommand, input);
  if (isInvalid(command)) return command;
  const { sagaId } = command;
  const lines = mergeLines(command.lines);
  return runOnce<ReserveResult>(db, { sagaId, step: 'reserve' }, async (tx) => {
    await lockSaga(tx, sagaId);
    if (await hasProcessed(tx, { sagaId, step: 'release' })) return { ok: false, reason: 'CANCELLED' };

    // Lock every row first (ORDER BY: PostgreSQL locks in the sorted order), so the check below
    // stays true until commit and a shortfall is found before anything has been written.
    const rows = await tx.$queryRaw<Array<{ productId: string; available: number }>>`
      SELECT "productId"::text AS "productId", "available" FROM "StockItem"
      WHERE "productId" = ANY(${lines.map((line) => line.productId)}::uuid[])
      ORDER BY "productId"
      FOR UPDATE`;
    const available = new Map(rows.map((row) => [row.productId, row.available]));
    const short = lines.find((line) => (available.get(line.productId) ?? 0) < line.quantity);
    if (short) return { ok: false, reason: 'INSUFFICIENT_STOCK', productId: short.productId };

    const events: IntegrationEvent[] = [];
    for (const line of lines) events.push(await moveStock(tx, line.productId, { available: -line.quantity, reserved: line.quantity }));
    await tx.reservation.createMany({ data: lines.map((line) => ({ sagaId, ...line, status: 'RESERVED' as const })) });
    await appendToOutbox(tx, ...events);
    return { ok: true };
  });
}

/** RESERVED -> COMMITTED: the reserved units are sold and leave the stock row. */
export async function commitReservation(db: Db, input: ReservationCommand): Promise<CommitResult> {
  const command = parseCommand(reservationCommand, input);
  if (isInvalid(command)) return command;
  const { sagaId } = command;
  return runOnce<CommitResult>(db, { sagaId, step: 'commit' }, async (tx) => {
    await lockSaga(tx, sagaId);
    const lines = await reservationsOf(tx, sagaId);
    if (!lines.length) return { ok: false, reason: 'NO_RESERVATION', message: `saga ${sagaId} has no reservation` };
    const status = statusOf(lines, 'RESERVED');
    if (status !== 'RESERVED') {
      return { ok: false, reason: 'INVALID_TRANSITION', message: `cannot commit the reservation of saga ${sagaId}: it is ${status}` };
    }

    const events: IntegrationEvent[] = [];
    for (const line of lines) events.push(await moveStock(tx, line.productId, { available: 0, reserved: -line.quantity }));
    await tx.reservation.updateMany({ where: { sagaId }, data: { status: 'COMMITTED', committedAt: new Date() } });
    await appendToOutbox(tx, ...events);
    return { ok: true };
  });
}

/**
 * RESERVED -> RELEASED: the units are available again. A compensation, so it succeeds without
 * effect when nothing is reserved (the reservation was refused or has not arrived yet); either
 * way the saga is marked released, and a reservation arriving later is refused. Sold units
 * cannot be released: an order cancelled after its sale uses `returnStock`.
 */
export async function releaseReservation(db: Db, input: ReservationCommand): Promise<ReleaseResult> {
  const command = parseCommand(reservationCommand, input);
  if (isInvalid(command)) return command;
  const { sagaId } = command;
  return runOnce<ReleaseResult>(db, { sagaId, step: 'release' }, async (tx) => {
    await lockSaga(tx, sagaId);
    const lines = await reservationsOf(tx, sagaId);
    const status = statusOf(lines, 'RESERVED');
    if (!lines.length || status === 'RELEASED') return { ok: true };
    if (status !== 'RESERVED') {
      return { ok: false, reason: 'INVALID_TRANSITION', message: `cannot release the reservation of saga ${sagaId}: it is ${status}` };
    }

    const events: IntegrationEvent[] = [];
    for (const line of lines) events.push(await moveStock(tx, line.productId, { available: line.quantity, reserved: -line.quantity }));
    await tx.reservation.updateMany({ where: { sagaId }, data: { status: 'RELEASED', releasedAt: new Date() } });
    await appendToOutbox(tx, ...events);
    return { ok: true };
  });
}

/**
 * COMMITTED -> RETURNED for the reservation of `orderSagaId`: the sold units are available
 * again (an order cancelled after its sale). Idempotent per `sagaId`; any other state of the
 * order saga's reservation, including one another saga already returned, is `NOT_COMMITTED`.
 */
export async function returnStock(db: Db, input: ReturnCommand): Promise<ReturnResult> {
  const command = parseCommand(returnCommand, input);
  if (isInvalid(command)) return command;
  const { sagaId, orderSagaId } = command;
  return runOnce<ReturnResult>(db, { sagaId, step: 'return' }, async (tx) => {
    await lockSaga(tx, orderSagaId);
    const lines = await reservationsOf(tx, orderSagaId);
    const status = statusOf(lines, 'COMMITTED');
    if (!lines.length || status !== 'COMMITTED') {
      const state = lines.length ? `it is ${status}` : 'it has no reservation';
      return { ok: false, reason: 'NOT_COMMITTED', message: `cannot return the stock of saga ${orderSagaId}: ${state}` };
    }

    const events: IntegrationEvent[] = [];
    for (const line of lines) events.push(await moveStock(tx, line.productId, { available: line.quantity, reserved: 0 }));
    await tx.reservation.updateMany({
      where: { sagaId: orderSagaId },
      data: { status: 'RETURNED', returnedAt: new Date(), returnedBySagaId: sagaId },
    });
    await appendToOutbox(tx, ...events);
    return { ok: true };
  });
}

/**
 * Every stocked product's levels and the units sold through reservations (committed and not
 * returned), in product id order; only `productIds` when given. For each product,
 * available + reserved + sold is what was stocked: tests and invariant checks compare it.
 */
export async function stockLedger(db: Db, productIds?: readonly string[]): Promise<LedgerEntry[]> {
  const only = productIds ? { productId: { in: productIds.filter(isId).map((id) => id.toLowerCase()) } } : {};
  const [items, sales] = await Promise.all([
    db.stockItem.findMany({ where: only, select: { productId: true, available: true, reserved: true }, orderBy: { productId: 'asc' } }),
    db.reservation.groupBy({ by: ['productId'], where: { ...only, status: 'COMMITTED' }, _sum: { quantity: true } }),
  ]);
  const sold = new Map(sales.map((sale) => [sale.productId, sale._sum.quantity ?? 0]));
  return items.map((item) => ({ ...item, sold: sold.get(item.productId) ?? 0 }));
}
