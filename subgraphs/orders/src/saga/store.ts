/**
 * The orchestrator's state in the orders database, written in plain SQL: a saga's every move
 * (the step that ended, the local steps run on the way, the step it now waits on or its end, the
 * order's transition and the events announcing it) is one statement, guarded by the state it
 * moves from, so two handlers of the same saga (a duplicate reply, a reply racing its deadline,
 * two orders processes) cannot both apply: the second finds the guard false and changes nothing.
 * One statement needs no transaction: it commits alone, or not at all. Each is sent straight on
 * the client's pool (service-kit's directSql: a saga runs a dozen, and Prisma's machinery costs
 * more than the statement), or in the caller's transaction when given one.
 */
import { randomUUID } from 'node:crypto';
import { OUTBOX_CHANNEL, type IntegrationEvent } from '@mercado/event-bus';
import { directSql } from '@mercado/service-kit';
import { traceHeaders } from '@mercado/telemetry';
import type { Db, Tx } from '../db.ts';
import { orderTransitions, orderTransitionSql, type OrderTransition } from '../domain/order.ts';
import { OrderConfirmed } from '../events/OrderConfirmed.ts';
import { OrderStatusChanged } from '../events/OrderStatusChanged.ts';
import { Prisma } from '../generated/prisma/client.ts';
import type { SagaType, StepName } from './decide.ts';
import type { SagaOrder } from './steps.ts';

type Sql = Pick<Db | Tx, '$queryRaw'>;

export type SagaState = 'RUNNING' | 'COMPENSATING' | 'COMPLETED' | 'COMPENSATED' | 'FAILED';

export interface SagaRow {
  id: string;
  orderId: string;
  type: SagaType;
  state: SagaState;
  currentStep: StepName | null;
  failureReason: string | null;
  /** What the saga's commands need of the order, stored when it started: no step reloads the order. */
  order: SagaOrder;
}

const sagaColumns = Prisma.sql`"id"::text AS "id", "orderId"::text AS "orderId", "type", "state"::text AS "state", "currentStep", "failureReason", "context" AS "order"`;

export async function loadSaga(db: Sql, sagaId: string): Promise<SagaRow | null> {
  const [row] = await directSql(db).$queryRaw<SagaRow[]>`SELECT ${sagaColumns} FROM "Saga" WHERE "id" = ${sagaId}::uuid`;
  return row ?? null;
}

/** Sagas in progress whose step's deadline has passed (index on deadlineAt). */
export function sagasPastDeadline(db: Sql, limit: number): Promise<Array<{ id: string; currentStep: StepName }>> {
  return directSql(db).$queryRaw`
    SELECT "id"::text AS "id", "currentStep" FROM "Saga"
    WHERE "deadlineAt" <= now() ORDER BY "deadlineAt" LIMIT ${limit}`;
}

/** Sagas in progress that have not moved for `idleMs` (a lost send, a job failed for good). */
export function idleSagas(db: Sql, idleMs: number, limit: number): Promise<SagaRow[]> {
  return directSql(db).$queryRaw`
    SELECT ${sagaColumns} FROM "Saga"
    WHERE "state" IN ('RUNNING', 'COMPENSATING') AND "updatedAt" < (now() AT TIME ZONE 'UTC') - ${idleMs} * interval '1 millisecond'
    ORDER BY "updatedAt" LIMIT ${limit}`;
}

/** A step as it is recorded: the one that just ended, or one that starts (remote) or ran (local). */
export interface StepRecord {
  name: StepName;
  status: 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT';
  attempts?: number;
  error?: string | null;
}

/** One move of a saga, as the orchestrator decided it (decide.ts); written by `applyMove`. */
export interface Move {
  /** The step that ended, and how; absent when the saga starts. */
  ended?: StepRecord;
  /** Steps to add, in order: local steps that ran (SUCCEEDED), then the remote step now waited on (RUNNING). */
  added: StepRecord[];
  state: SagaState;
  /** The remote step waited on; null once the saga has finished. */
  currentStep: StepName | null;
  failureReason: string | null;
  /** When the waited-on step gives up, if it has a deadline. */
  deadlineAt: Date | null;
  /** The order's transition on the way (a local step), if any. */
  transition: OrderTransition | null;
  /** Whether the move is announced (OrderStatusChanged): a status change, a saga started or finished. */
  announce: boolean;
}

/** Now as PostgreSQL's timestamp(3) without time zone, in UTC as Prisma writes it. */
const utcNow = Prisma.sql`(now() AT TIME ZONE 'UTC')`;

function addedSteps(sagaId: string, from: Prisma.Sql, move: Move, positionBase: Prisma.Sql): Prisma.Sql {
  const steps = move.added;
  return Prisma.sql`
    INSERT INTO "SagaStep" ("sagaId", "name", "position", "status", "attempts", "startedAt", "finishedAt")
    SELECT ${sagaId}::uuid, n."name", ${positionBase} + n."ord"::int, n."status"::"SagaStepStatus",
           CASE WHEN n."status" = 'RUNNING' THEN 0 ELSE 1 END, ${utcNow},
           CASE WHEN n."status" = 'RUNNING' THEN NULL ELSE ${utcNow} END
    FROM ${from}, unnest(${steps.map((s) => s.name)}::text[], ${steps.map((s) => s.status)}::text[]) WITH ORDINALITY AS n("name", "status", "ord")`;
}

/**
 * The events a move announces, inserted from the order row the same statement returned (`o`), so
 * they carry the order's new version. Nothing is inserted when the order was not touched.
 */
function announcedEvents(move: Move, order: SagaOrder): { sql: Prisma.Sql; any: boolean } {
  const events: IntegrationEvent[] = [];
  // Versions and statuses are placeholders: the row `o` returned supplies them below.
  if (move.transition === 'confirm') events.push(OrderConfirmed({ ...order, version: 0 }));
  if (move.announce) {
    events.push(
      OrderStatusChanged(
        { id: order.id, userId: order.userId, status: 'PENDING', rejectionReason: null, version: 0 },
        { state: move.state, currentStep: move.currentStep },
      ),
    );
  }
  if (!events.length) return { sql: Prisma.empty, any: false };
  const traceparent = traceHeaders().traceparent ?? null;
  return {
    any: true,
    sql: Prisma.sql`,
    announced AS (
      INSERT INTO "OutboxEvent" ("id", "type", "source", "aggregateId", "version", "occurredAt", "payload", "traceparent")
      SELECT e."id", e."type", 'orders', o."id", o."version", e."occurredAt",
             CASE WHEN e."type" = 'OrderStatusChanged'
                  THEN e."payload" || jsonb_build_object('status', o."status", 'rejectionReason', o."rejectionReason", 'version', o."version")
                  ELSE e."payload" END,
             ${traceparent}::text
      FROM o, unnest(${events.map((e) => e.id)}::uuid[], ${events.map((e) => e.type)}::text[],
                     ${events.map((e) => e.occurredAt)}::timestamptz[], ${events.map((e) => JSON.stringify(e.payload))}::jsonb[])
           AS e("id", "type", "occurredAt", "payload")
      RETURNING 1)`,
  };
}

/**
 * Applies a move to a saga that is still where `from` says (its state, the step it waited on and
 * its failure so far), in one statement: locks the saga row (and the order's, when the order changes) if and only
 * if the guard holds, then updates the saga, ends its step, adds the new ones, moves the order and
 * writes the events. Returns false when the guard did not hold: someone else moved the saga first.
 */
export async function applyMove(
  db: Sql,
  saga: Pick<SagaRow, 'id' | 'orderId' | 'order'>,
  from: { state: SagaState; step: StepName; failureReason: string | null },
  move: Move,
): Promise<boolean> {
  const touchesOrder = move.transition !== null || move.announce;
  const ended = move.ended!;
  const events = announcedEvents(move, saga.order);
  const orderCte = touchesOrder
    ? Prisma.sql`,
    o AS (${orderTransitionSql(saga.orderId, move.transition, Prisma.sql`EXISTS (SELECT 1 FROM locked)`, move.failureReason)})`
    : Prisma.empty;
  // The order's expected status is part of the guard: the lock re-checks it, so the transition below cannot miss.
  const orderGuard = move.transition ? Prisma.sql`AND ord."status" = ${orderTransitions[move.transition].from}::"OrderStatus"` : Prisma.empty;
  const [row] = await directSql(db).$queryRaw<Array<{ applied: number }>>`
    WITH locked AS (
      SELECT s."id" FROM "Saga" s JOIN "Order" ord ON ord."id" = s."orderId"
      WHERE s."id" = ${saga.id}::uuid AND s."state" = ${from.state}::"SagaState" AND s."currentStep" = ${from.step}
        AND s."failureReason" IS NOT DISTINCT FROM ${from.failureReason}::text ${orderGuard}
      FOR UPDATE OF s ${touchesOrder ? Prisma.sql`, ord` : Prisma.empty}),
    s AS (
      UPDATE "Saga" SET "state" = ${move.state}::"SagaState", "currentStep" = ${move.currentStep}, "failureReason" = ${move.failureReason},
             "deadlineAt" = ${move.deadlineAt}::timestamptz, "stepCount" = "stepCount" + ${move.added.length}::int, "updatedAt" = ${utcNow}
      WHERE "id" IN (SELECT "id" FROM locked)
      RETURNING "stepCount"),
    ended AS (
      UPDATE "SagaStep" SET "status" = ${ended.status}::"SagaStepStatus", "finishedAt" = ${utcNow}, "error" = ${ended.error ?? null},
             "attempts" = COALESCE(${ended.attempts ?? null}::int, "attempts")
      WHERE "sagaId" = ${saga.id}::uuid AND "name" = ${ended.name} AND EXISTS (SELECT 1 FROM locked)),
    added AS (${addedSteps(saga.id, Prisma.sql`s`, move, Prisma.sql`s."stepCount" - ${move.added.length}::int`)})
    ${orderCte}
    ${events.sql}
    SELECT (SELECT count(*) FROM locked)::int AS "applied" ${events.any ? Prisma.sql`, (SELECT count(*) FROM pg_notify(${OUTBOX_CHANNEL}, ''))::int AS "notified"` : Prisma.empty}`;
  return row!.applied === 1;
}

/**
 * Starts a saga over an existing order (a cancellation) in the caller's transaction or alone:
 * the saga row, its first step and, announced, the order's version bump. One statement.
 */
export async function insertSaga(db: Sql, saga: { id: string; orderId: string; type: SagaType; order: SagaOrder }, move: Move): Promise<void> {
  const events = announcedEvents(move, saga.order);
  await directSql(db).$queryRaw`
    WITH s AS (
      INSERT INTO "Saga" ("id", "orderId", "type", "state", "currentStep", "failureReason", "context", "deadlineAt", "stepCount", "createdAt", "updatedAt")
      VALUES (${saga.id}::uuid, ${saga.orderId}::uuid, ${saga.type}, ${move.state}::"SagaState", ${move.currentStep}, ${move.failureReason},
              ${JSON.stringify(saga.order)}::jsonb, ${move.deadlineAt}::timestamptz, ${move.added.length}::int, ${utcNow}, ${utcNow})
      RETURNING "stepCount"),
    added AS (${addedSteps(saga.id, Prisma.sql`s`, move, Prisma.sql`0`)}),
    o AS (${orderTransitionSql(saga.orderId, move.transition, Prisma.sql`TRUE`)})
    ${events.sql}
    SELECT 1 AS "ok" ${events.any ? Prisma.sql`, (SELECT count(*) FROM pg_notify(${OUTBOX_CHANNEL}, ''))::int AS "notified"` : Prisma.empty}`;
}

/** A new order with its lines, and its placeOrder saga started (`move`), in one statement. */
export interface NewOrderRow {
  id: string;
  userId: string;
  currency: string;
  totalCents: number;
  idempotencyKey: string;
  requestHash: string;
  lines: Array<{ productId: string; productName: string; unitPriceCents: number; quantity: number }>;
}

/**
 * Inserts the order (PENDING, version 1), its lines, its saga and first step and the
 * OrderStatusChanged announcing it, in one statement. Returns when it was placed, or null, having written nothing, when
 * the customer's idempotency key already placed an order.
 */
export async function insertOrderWithSaga(db: Sql, order: NewOrderRow, sagaId: string, move: Move): Promise<Date | null> {
  const sagaOrder: SagaOrder = {
    id: order.id,
    userId: order.userId,
    totalCents: order.totalCents,
    currency: order.currency,
    lines: order.lines.map((l) => ({ productId: l.productId, quantity: l.quantity })),
  };
  const status = OrderStatusChanged(
    { id: order.id, userId: order.userId, status: 'PENDING', rejectionReason: null, version: 1 },
    { state: move.state, currentStep: move.currentStep },
  );
  const traceparent = traceHeaders().traceparent ?? null;
  const [row] = await directSql(db).$queryRaw<Array<{ placedAt: Date | null }>>`
    WITH o AS (
      INSERT INTO "Order" ("id", "userId", "status", "totalCents", "currency", "placedAt", "updatedAt", "version", "idempotencyKey", "requestHash")
      VALUES (${order.id}::uuid, ${order.userId}::uuid, 'PENDING', ${order.totalCents}::int, ${order.currency}, ${utcNow}, ${utcNow}, 1,
              ${order.idempotencyKey}, ${order.requestHash})
      ON CONFLICT ("userId", "idempotencyKey") DO NOTHING
      RETURNING "id", "placedAt"),
    lines AS (
      INSERT INTO "OrderLine" ("id", "orderId", "productId", "productName", "quantity", "unitPriceCents", "position")
      SELECT gen_random_uuid(), o."id", l."productId", l."productName", l."quantity", l."unitPriceCents", l."position"::int
      FROM o, unnest(${order.lines.map((l) => l.productId)}::uuid[], ${order.lines.map((l) => l.productName)}::text[],
                     ${order.lines.map((l) => l.quantity)}::int[], ${order.lines.map((l) => l.unitPriceCents)}::int[])
           WITH ORDINALITY AS l("productId", "productName", "quantity", "unitPriceCents", "position")),
    s AS (
      INSERT INTO "Saga" ("id", "orderId", "type", "state", "currentStep", "failureReason", "context", "deadlineAt", "stepCount", "createdAt", "updatedAt")
      SELECT ${sagaId}::uuid, o."id", 'placeOrder', ${move.state}::"SagaState", ${move.currentStep}, NULL,
             ${JSON.stringify(sagaOrder)}::jsonb, ${move.deadlineAt}::timestamptz, ${move.added.length}::int, ${utcNow}, ${utcNow}
      FROM o
      RETURNING "stepCount"),
    added AS (${addedSteps(sagaId, Prisma.sql`s`, move, Prisma.sql`0`)}),
    announced AS (
      INSERT INTO "OutboxEvent" ("id", "type", "source", "aggregateId", "version", "occurredAt", "payload", "traceparent")
      SELECT ${status.id}::uuid, ${status.type}, 'orders', ${order.id}, 1, ${status.occurredAt}::timestamptz, ${JSON.stringify(status.payload)}::jsonb, ${traceparent}::text
      FROM o)
    SELECT (SELECT "placedAt" FROM o) AS "placedAt", (SELECT count(*) FROM pg_notify(${OUTBOX_CHANNEL}, ''))::int AS "notified"`;
  return row!.placedAt;
}

export const newSagaId = (): string => randomUUID();
