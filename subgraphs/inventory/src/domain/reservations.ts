/**
 * The inventory side of the order saga: reserve, commit, release and return stock, each a
 * plain function over the database that the saga's workers call. Every operation is idempotent
 * per (sagaId, step) and returns its outcome as data; `ok: false` means retrying cannot help.
 * Every change to a stock row bumps its version and appends StockChanged in the same
 * transaction, so the catalog's replica follows reservations like any other change.
 */
import * as z from 'zod';
import { directSql, isId } from '@mercado/service-kit';
import { appendToOutbox, OUTBOX_CHANNEL, type IntegrationEvent } from '@mercado/event-bus';
import { inventoryParticipant, recordResult, sagaIdSchema, storedResult } from '@mercado/saga';
import { traceHeaders } from '@mercado/telemetry';
import type { Db, Tx } from '../db.ts';
import type { Reservation, ReservationStatus } from '../generated/prisma/client.ts';
import { StockChanged } from '../events/StockChanged.ts';
import { runOnce } from './processedCommands.ts';

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

// The payloads are the contract's (packages/saga), with the saga's id beside them.
const reserveCommand = inventoryParticipant.commands.reserve.extend({ sagaId: sagaIdSchema('sagaId') });
const reservationCommand = z.object({ sagaId: sagaIdSchema('sagaId') });
const returnCommand = inventoryParticipant.commands.return.extend({ sagaId: sagaIdSchema('sagaId') });

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
  const key = { sagaId, step: 'reserve' };
  const traceparent = traceHeaders().traceparent ?? null;
  // One statement: lock the lines' stock rows in product id order (two sagas touching the same
  // products never wait for each other in a cycle), check them all, and only if every line is
  // covered record the run-once row and, behind it, move the units, write the reservation and
  // the StockChanged events. A release that came first left this step's row (CANCELLED), so the
  // record finds it and nothing moves; so does a redelivery of a reservation already made.
  const [row] = await directSql(db).$queryRaw<Array<{ claimed: number; levels: Array<{ productId: string; available: number }> | null }>>`
    WITH want AS (
      SELECT * FROM unnest(${lines.map((l) => l.productId)}::uuid[], ${lines.map((l) => l.quantity)}::int[]) AS w("productId", "quantity")),
    locked AS (
      SELECT s."productId", s."available" FROM "StockItem" s WHERE s."productId" IN (SELECT "productId" FROM want)
      ORDER BY s."productId" FOR UPDATE),
    covered AS (
      SELECT count(*) = ${lines.length}::int AS "all" FROM locked l JOIN want w ON w."productId" = l."productId" WHERE l."available" >= w."quantity"),
    claim AS (
      INSERT INTO "ProcessedCommand" ("sagaId", "step", "result", "createdAt")
      SELECT ${sagaId}, 'reserve', '{"ok":true}'::jsonb, now() FROM covered WHERE covered."all"
      ON CONFLICT ("sagaId", "step") DO NOTHING
      RETURNING 1),
    moved AS (
      UPDATE "StockItem" s SET "available" = s."available" - w."quantity", "reserved" = s."reserved" + w."quantity",
             "version" = s."version" + 1, "updatedAt" = now()
      FROM want w WHERE s."productId" = w."productId" AND EXISTS (SELECT 1 FROM claim)
      RETURNING s."productId", w."quantity", s."available", s."reserved", s."version"),
    reserved AS (
      INSERT INTO "Reservation" ("sagaId", "productId", "quantity", "status", "createdAt", "updatedAt")
      SELECT ${sagaId}, m."productId", m."quantity", 'RESERVED', now(), now() FROM moved m),
    announced AS (
      INSERT INTO "OutboxEvent" ("id", "type", "source", "aggregateId", "version", "occurredAt", "payload", "traceparent")
      SELECT gen_random_uuid(), 'StockChanged', 'inventory', m."productId"::text, m."version", now(),
             jsonb_build_object('available', m."available", 'reserved', m."reserved"), ${traceparent}::text
      FROM moved m)
    SELECT (SELECT count(*) FROM claim)::int AS "claimed",
           (SELECT json_agg(json_build_object('productId', l."productId", 'available', l."available")) FROM locked l) AS "levels",
           (SELECT count(*) FROM pg_notify(${OUTBOX_CHANNEL}, ''))::int AS "notified"`;
  if (row!.claimed === 1) return { ok: true };
  // Not reserved: a shortfall (recorded below, so a redelivery gets the same answer), or the step
  // already has its answer (a redelivery, or a release that came first).
  const available = new Map((row!.levels ?? []).map((l) => [l.productId, l.available]));
  const short = lines.find((line) => (available.get(line.productId) ?? 0) < line.quantity);
  if (short) {
    const refusal: ReserveResult = { ok: false, reason: 'INSUFFICIENT_STOCK', productId: short.productId };
    if (await recordResult(db, key, refusal)) return refusal;
  }
  const stored = await storedResult<ReserveResult>(db, key);
  if (!stored) throw new Error(`saga ${sagaId}: the reservation was neither made nor refused`);
  return stored;
}

/** RESERVED -> COMMITTED: the reserved units are sold and leave the stock row. */
export async function commitReservation(db: Db, input: ReservationCommand): Promise<CommitResult> {
  const command = parseCommand(reservationCommand, input);
  if (isInvalid(command)) return command;
  const { sagaId } = command;
  // The usual case in one statement: lock the saga's reservation lines and their stock rows (in
  // product id order), and only if every line is RESERVED record the run-once row and, behind
  // it, take the units out of reserved, mark the lines COMMITTED and announce the new levels.
  // Anything else (no reservation, another status, a redelivery) takes the general path below.
  const traceparent = traceHeaders().traceparent ?? null;
  const [fast] = await directSql(db).$queryRaw<Array<{ claimed: number }>>`
    WITH lines AS (
      SELECT "productId", "quantity", "status" FROM "Reservation" WHERE "sagaId" = ${sagaId} ORDER BY "productId" FOR UPDATE),
    stock AS (
      SELECT s."productId" FROM "StockItem" s WHERE s."productId" IN (SELECT "productId" FROM lines) ORDER BY s."productId" FOR UPDATE),
    ready AS (
      SELECT count(*) > 0 AND bool_and("status" = 'RESERVED') AND (SELECT count(*) FROM stock) = count(*) AS "ok" FROM lines),
    claim AS (
      INSERT INTO "ProcessedCommand" ("sagaId", "step", "result", "createdAt")
      SELECT ${sagaId}, 'commit', '{"ok":true}'::jsonb, now() FROM ready WHERE ready."ok"
      ON CONFLICT ("sagaId", "step") DO NOTHING
      RETURNING 1),
    moved AS (
      UPDATE "StockItem" s SET "reserved" = s."reserved" - l."quantity", "version" = s."version" + 1, "updatedAt" = now()
      FROM lines l WHERE s."productId" = l."productId" AND EXISTS (SELECT 1 FROM claim)
      RETURNING s."productId", s."available", s."reserved", s."version"),
    committed AS (
      UPDATE "Reservation" SET "status" = 'COMMITTED', "committedAt" = now(), "updatedAt" = now()
      WHERE "sagaId" = ${sagaId} AND EXISTS (SELECT 1 FROM claim)),
    announced AS (
      INSERT INTO "OutboxEvent" ("id", "type", "source", "aggregateId", "version", "occurredAt", "payload", "traceparent")
      SELECT gen_random_uuid(), 'StockChanged', 'inventory', m."productId"::text, m."version", now(),
             jsonb_build_object('available', m."available", 'reserved', m."reserved"), ${traceparent}::text
      FROM moved m)
    SELECT (SELECT count(*) FROM claim)::int AS "claimed", (SELECT count(*) FROM pg_notify(${OUTBOX_CHANNEL}, ''))::int AS "notified"`;
  if (fast!.claimed === 1) return { ok: true };
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
  // Whatever happens next, a reservation of this saga arriving from now on is refused: its
  // run-once row is taken (CANCELLED) unless the reservation has one already. Committed before
  // the release reads the reservation, so a reservation in flight either committed first (and
  // is released below) or finds this row.
  await recordResult(db, { sagaId, step: 'reserve' }, { ok: false, reason: 'CANCELLED' } satisfies ReserveResult);
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
