/**
 * The payments side of the order saga: authorize, capture, void and refund, each a plain
 * function over the database that the saga's workers call. Every operation is idempotent per
 * (sagaId, step) and returns its outcome as data; `ok: false` means retrying cannot help.
 */
import { randomUUID } from 'node:crypto';
import type { z } from 'zod';
import { directSql } from '@mercado/service-kit';
import { paymentsParticipant, recordResult, sagaIdSchema } from '@mercado/saga';
import type { Db, Tx } from '../db.ts';
import type { Payment, PaymentStatus } from '../generated/prisma/client.ts';
import { availableCents, DEFAULT_CREDIT_LIMIT_CENTS, lockAccount } from './accounts.ts';
import { runOnce } from './processedCommands.ts';

export type { Payment, PaymentStatus };

/** Why an authorization was declined, stored on the payment. */
export type DeclineReason = 'INSUFFICIENT_CREDIT' | 'CURRENCY_MISMATCH';

/** A command the saga got wrong (a bug, not a state): retrying it cannot help. */
export type InvalidCommand = { ok: false; reason: 'INVALID_COMMAND'; message: string };
/** The payment is not in a state the operation applies to. */
export type InvalidTransition = { ok: false; reason: 'INVALID_TRANSITION'; message: string };

export type AuthorizeResult =
  | { ok: true; paymentId: string }
  | { ok: false; reason: 'PAYMENT_DECLINED'; paymentId: string; declineReason: DeclineReason }
  | InvalidTransition
  | InvalidCommand;

export type TransitionResult =
  /** `paymentId` is null when a void found nothing to void. */
  | { ok: true; paymentId: string | null }
  | { ok: false; reason: 'PAYMENT_NOT_FOUND'; message: string }
  | InvalidTransition
  | InvalidCommand;

export interface AuthorizeCommand {
  sagaId: string;
  orderId: string;
  customerId: string;
  amountCents: number;
  currency: string;
}

export interface PaymentCommand {
  sagaId: string;
  orderId: string;
}

export interface AuthorizeOptions {
  /** The limit given to a customer whose first authorization this is. */
  defaultCreditLimitCents?: number;
}

// The payloads are the contract's (packages/saga), with the saga's id beside them.
const withSaga = { sagaId: sagaIdSchema('sagaId') };
const paymentCommand = paymentsParticipant.commands.capture.extend(withSaga);
const authorizeCommand = paymentsParticipant.commands.authorize.extend(withSaga);

function parseCommand<T>(schema: z.ZodType<T>, input: unknown): T | InvalidCommand {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  return { ok: false, reason: 'INVALID_COMMAND', message: issue.message };
}

const isInvalid = (value: object): value is InvalidCommand => 'reason' in value && value.reason === 'INVALID_COMMAND';

/**
 * Serializes every operation on one order's payment for the rest of the transaction. Without
 * it, a void that finds no payment could commit just before a slow authorization of the same
 * order inserts one, leaving credit held for an order the saga has given up on.
 */
async function lockOrder(tx: Tx, orderId: string): Promise<void> {
  await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtextextended(${orderId}, 0))`;
}

const paymentOf = (tx: Tx, orderId: string) => tx.payment.findUnique({ where: { orderId } });

const notFound = (orderId: string): TransitionResult => ({
  ok: false,
  reason: 'PAYMENT_NOT_FOUND',
  message: `order ${orderId} has no payment`,
});

const transition = (payment: Payment, operation: string): InvalidTransition => ({
  ok: false,
  reason: 'INVALID_TRANSITION',
  message: `cannot ${operation} the payment of order ${payment.orderId}: it is ${payment.status}`,
});

/**
 * Holds `amountCents` of the customer's credit for the order, or declines when that is more
 * than the customer has available (or in another currency). The decision depends only on the
 * account's state, so the same request on the same account always gets the same answer. A
 * customer payments has not seen yet gets an account with the default limit.
 *
 * An order has one payment: a declined one may be authorized again by a later saga (the
 * limit may have been raised); an authorized one is returned as is when the request matches it.
 */
export async function authorize(db: Db, input: AuthorizeCommand, options: AuthorizeOptions = {}): Promise<AuthorizeResult> {
  const command = parseCommand(authorizeCommand, input);
  if (isInvalid(command)) return command;
  const { sagaId, orderId, customerId, amountCents, currency } = command;
  // The usual case in one statement: a customer with an account and an order without a payment.
  // Lock the account, decide (the same rule as below), and only if the run-once row is this
  // run's insert the payment, AUTHORIZED or DECLINED, and hold the amount. Anything else (a new
  // customer, an order with a payment, a redelivery, a void that came first) takes the general path.
  const paymentId = randomUUID();
  const [fast] = await directSql(db).$queryRaw<Array<{ result: AuthorizeResult | null }>>`
    WITH account AS (
      SELECT "creditLimitCents" - "heldCents" - "spentCents" AS "available", "currency" FROM "PaymentAccount"
      WHERE "customerId" = ${customerId}::uuid FOR UPDATE),
    decision AS (
      SELECT CASE WHEN a."currency" <> ${currency} THEN 'CURRENCY_MISMATCH'
                  WHEN ${amountCents}::int > a."available" THEN 'INSUFFICIENT_CREDIT' END AS "declineReason"
      FROM account a WHERE NOT EXISTS (SELECT 1 FROM "Payment" WHERE "orderId" = ${orderId}::uuid)),
    claim AS (
      INSERT INTO "ProcessedCommand" ("sagaId", "step", "result", "createdAt")
      SELECT ${sagaId}, 'authorize',
             CASE WHEN d."declineReason" IS NULL THEN jsonb_build_object('ok', true, 'paymentId', ${paymentId}::text)
                  ELSE jsonb_build_object('ok', false, 'reason', 'PAYMENT_DECLINED', 'paymentId', ${paymentId}::text, 'declineReason', d."declineReason") END,
             now()
      FROM decision d
      ON CONFLICT ("sagaId", "step") DO NOTHING
      RETURNING "result"),
    payment AS (
      INSERT INTO "Payment" ("id", "orderId", "customerId", "amountCents", "currency", "status", "declineReason", "authorizedAt", "createdAt", "updatedAt")
      SELECT ${paymentId}::uuid, ${orderId}::uuid, ${customerId}::uuid, ${amountCents}::int, ${currency},
             (CASE WHEN d."declineReason" IS NULL THEN 'AUTHORIZED' ELSE 'DECLINED' END)::"PaymentStatus", d."declineReason",
             CASE WHEN d."declineReason" IS NULL THEN now() END, now(), now()
      FROM decision d WHERE EXISTS (SELECT 1 FROM claim)),
    held AS (
      UPDATE "PaymentAccount" SET "heldCents" = "heldCents" + ${amountCents}::int, "updatedAt" = now()
      WHERE "customerId" = ${customerId}::uuid AND EXISTS (SELECT 1 FROM claim) AND (SELECT "declineReason" FROM decision) IS NULL)
    SELECT (SELECT "result" FROM claim) AS "result"`;
  if (fast!.result) return fast!.result;

  // A void that came first took this step's run-once row (see voidAuthorization): runOnce returns its answer.
  return runOnce<AuthorizeResult>(db, { sagaId, step: 'authorize' }, async (tx) => {
    await lockOrder(tx, orderId);
    const existing = await paymentOf(tx, orderId);
    if (existing && existing.status !== 'DECLINED') {
      const same = existing.customerId === customerId && existing.amountCents === amountCents && existing.currency === currency;
      return existing.status === 'AUTHORIZED' && same ? { ok: true, paymentId: existing.id } : transition(existing, 'authorize');
    }

    const account = await lockAccount(tx, customerId, {
      creditLimitCents: options.defaultCreditLimitCents ?? DEFAULT_CREDIT_LIMIT_CENTS,
      currency,
    });
    const declineReason: DeclineReason | null =
      account.currency !== currency ? 'CURRENCY_MISMATCH' : amountCents > availableCents(account) ? 'INSUFFICIENT_CREDIT' : null;
    const now = new Date();
    const fields = {
      customerId,
      amountCents,
      currency,
      status: declineReason ? ('DECLINED' as const) : ('AUTHORIZED' as const),
      declineReason,
      authorizedAt: declineReason ? null : now,
    };
    const payment = await tx.payment.upsert({ where: { orderId }, create: { orderId, ...fields }, update: fields });
    if (declineReason) return { ok: false, reason: 'PAYMENT_DECLINED', paymentId: payment.id, declineReason };
    await tx.paymentAccount.update({ where: { customerId }, data: { heldCents: { increment: amountCents } } });
    return { ok: true, paymentId: payment.id };
  });
}

/** AUTHORIZED -> CAPTURED: the held amount becomes spent. Capturing a captured payment changes nothing. */
export async function capture(db: Db, input: PaymentCommand): Promise<TransitionResult> {
  const command = parseCommand(paymentCommand, input);
  if (isInvalid(command)) return command;
  // The usual case in one statement: lock the order's payment and only if it is AUTHORIZED record
  // the run-once row and, behind it, capture it and move its amount from held to spent.
  // Anything else (no payment, another status, a redelivery) takes the general path below.
  const [fast] = await directSql(db).$queryRaw<Array<{ paymentId: string | null }>>`
    WITH p AS (
      SELECT "id", "customerId", "amountCents" FROM "Payment" WHERE "orderId" = ${command.orderId}::uuid AND "status" = 'AUTHORIZED' FOR UPDATE),
    claim AS (
      INSERT INTO "ProcessedCommand" ("sagaId", "step", "result", "createdAt")
      SELECT ${command.sagaId}, 'capture', jsonb_build_object('ok', true, 'paymentId', p."id"), now() FROM p
      ON CONFLICT ("sagaId", "step") DO NOTHING
      RETURNING 1),
    captured AS (
      UPDATE "Payment" SET "status" = 'CAPTURED', "capturedAt" = now(), "updatedAt" = now()
      WHERE "id" IN (SELECT "id" FROM p) AND EXISTS (SELECT 1 FROM claim)),
    spent AS (
      UPDATE "PaymentAccount" a SET "heldCents" = a."heldCents" - p."amountCents", "spentCents" = a."spentCents" + p."amountCents", "updatedAt" = now()
      FROM p WHERE a."customerId" = p."customerId" AND EXISTS (SELECT 1 FROM claim))
    SELECT CASE WHEN EXISTS (SELECT 1 FROM claim) THEN (SELECT "id"::text FROM p) END AS "paymentId"`;
  if (fast!.paymentId) return { ok: true, paymentId: fast!.paymentId };
  return runOnce<TransitionResult>(db, { sagaId: command.sagaId, step: 'capture' }, async (tx) => {
    await lockOrder(tx, command.orderId);
    const payment = await paymentOf(tx, command.orderId);
    if (!payment) return notFound(command.orderId);
    if (payment.status === 'CAPTURED') return { ok: true, paymentId: payment.id };
    if (payment.status !== 'AUTHORIZED') return transition(payment, 'capture');
    await tx.payment.update({ where: { id: payment.id }, data: { status: 'CAPTURED', capturedAt: new Date() } });
    await tx.paymentAccount.update({
      where: { customerId: payment.customerId },
      data: { heldCents: { decrement: payment.amountCents }, spentCents: { increment: payment.amountCents } },
    });
    return { ok: true, paymentId: payment.id };
  });
}

/**
 * AUTHORIZED -> VOIDED: the hold is released. A compensation, so it succeeds without effect
 * when there is nothing to void: no payment (the authorization never happened), a declined
 * one, or one already voided. A captured payment must be refunded instead.
 */
export async function voidAuthorization(db: Db, input: PaymentCommand): Promise<TransitionResult> {
  const command = parseCommand(paymentCommand, input);
  if (isInvalid(command)) return command;
  // From now on an authorization of this saga arriving late is refused: its run-once row is
  // taken unless it has one already, and committed before the void reads the payment, so an
  // authorization in flight either committed first (and is voided below) or finds this row.
  const refused: AuthorizeResult = {
    ok: false,
    reason: 'INVALID_TRANSITION',
    message: `saga ${command.sagaId} has already voided the payment of order ${command.orderId}`,
  };
  await recordResult(db, { sagaId: command.sagaId, step: 'authorize' }, refused);
  return runOnce<TransitionResult>(db, { sagaId: command.sagaId, step: 'void' }, async (tx) => {
    await lockOrder(tx, command.orderId);
    const payment = await paymentOf(tx, command.orderId);
    if (!payment) return { ok: true, paymentId: null };
    if (payment.status === 'DECLINED' || payment.status === 'VOIDED') return { ok: true, paymentId: payment.id };
    if (payment.status !== 'AUTHORIZED') return transition(payment, 'void');
    await tx.payment.update({ where: { id: payment.id }, data: { status: 'VOIDED', voidedAt: new Date() } });
    await tx.paymentAccount.update({
      where: { customerId: payment.customerId },
      data: { heldCents: { decrement: payment.amountCents } },
    });
    return { ok: true, paymentId: payment.id };
  });
}

/** CAPTURED -> REFUNDED: the spent amount is credited back. Refunding a refunded payment changes nothing. */
export async function refund(db: Db, input: PaymentCommand): Promise<TransitionResult> {
  const command = parseCommand(paymentCommand, input);
  if (isInvalid(command)) return command;
  return runOnce<TransitionResult>(db, { sagaId: command.sagaId, step: 'refund' }, async (tx) => {
    await lockOrder(tx, command.orderId);
    const payment = await paymentOf(tx, command.orderId);
    if (!payment) return notFound(command.orderId);
    if (payment.status === 'REFUNDED') return { ok: true, paymentId: payment.id };
    if (payment.status !== 'CAPTURED') return transition(payment, 'refund');
    await tx.payment.update({ where: { id: payment.id }, data: { status: 'REFUNDED', refundedAt: new Date() } });
    await tx.paymentAccount.update({
      where: { customerId: payment.customerId },
      data: { spentCents: { decrement: payment.amountCents } },
    });
    return { ok: true, paymentId: payment.id };
  });
}
