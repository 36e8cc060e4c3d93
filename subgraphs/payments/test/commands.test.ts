import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { directSql, type RawQuery } from '@mercado/service-kit';
import { createTestDatabase, type TestDatabase } from '@mercado/service-kit/testing';
import { createDb, type Db } from '../src/db.ts';
import { setCreditLimit } from '../src/domain/accounts.ts';
import { authorize, capture, refund, voidAuthorization, type AuthorizeCommand } from '../src/domain/payments.ts';

const migrations = new URL('../../../prisma/payments/migrations', import.meta.url).pathname;

let database: TestDatabase;
let db: Db;

beforeAll(async () => {
  database = await createTestDatabase('payments', migrations);
  db = createDb(database.url);
});

afterAll(async () => {
  await db?.$disconnect();
  await database?.drop();
});

/** A customer with an account of `limit` cents and nothing held or spent. */
async function customerWithLimit(limit: number): Promise<string> {
  const customerId = randomUUID();
  await setCreditLimit(db, customerId, limit);
  return customerId;
}

const balance = (customerId: string) =>
  db.paymentAccount.findUniqueOrThrow({ where: { customerId }, select: { creditLimitCents: true, heldCents: true, spentCents: true } });

const paymentOf = (orderId: string) => db.payment.findUnique({ where: { orderId } });

function authorization(customerId: string, amountCents: number, overrides: Partial<AuthorizeCommand> = {}): AuthorizeCommand {
  return { sagaId: `saga-${randomUUID()}`, orderId: randomUUID(), customerId, amountCents, currency: 'EUR', ...overrides };
}

describe('the happy paths', () => {
  it('authorize holds credit and capture turns it into spending', async () => {
    const customerId = await customerWithLimit(10_000);
    const command = authorization(customerId, 2_500);

    const authorized = await authorize(db, command);
    expect(authorized).toEqual({ ok: true, paymentId: expect.any(String) });
    expect(await balance(customerId)).toEqual({ creditLimitCents: 10_000, heldCents: 2_500, spentCents: 0 });
    expect(await paymentOf(command.orderId)).toMatchObject({
      id: authorized.ok && authorized.paymentId,
      customerId,
      amountCents: 2_500,
      currency: 'EUR',
      status: 'AUTHORIZED',
      declineReason: null,
      authorizedAt: expect.any(Date),
      capturedAt: null,
    });

    const captured = await capture(db, { sagaId: command.sagaId, orderId: command.orderId });
    expect(captured).toEqual({ ok: true, paymentId: authorized.ok && authorized.paymentId });
    expect(await balance(customerId)).toEqual({ creditLimitCents: 10_000, heldCents: 0, spentCents: 2_500 });
    expect(await paymentOf(command.orderId)).toMatchObject({ status: 'CAPTURED', capturedAt: expect.any(Date) });
  });

  it('void releases the hold', async () => {
    const customerId = await customerWithLimit(10_000);
    const command = authorization(customerId, 4_000);
    await authorize(db, command);
    const voided = await voidAuthorization(db, { sagaId: command.sagaId, orderId: command.orderId });
    expect(voided).toMatchObject({ ok: true, paymentId: expect.any(String) });
    expect(await balance(customerId)).toEqual({ creditLimitCents: 10_000, heldCents: 0, spentCents: 0 });
    expect(await paymentOf(command.orderId)).toMatchObject({ status: 'VOIDED', voidedAt: expect.any(Date), capturedAt: null });
  });

  it('refund credits a captured payment back', async () => {
    const customerId = await customerWithLimit(10_000);
    const command = authorization(customerId, 3_000);
    const keys = { sagaId: command.sagaId, orderId: command.orderId };
    await authorize(db, command);
    await capture(db, keys);
    expect(await refund(db, keys)).toMatchObject({ ok: true });
    expect(await balance(customerId)).toEqual({ creditLimitCents: 10_000, heldCents: 0, spentCents: 0 });
    expect(await paymentOf(command.orderId)).toMatchObject({ status: 'REFUNDED', refundedAt: expect.any(Date), capturedAt: expect.any(Date) });
  });

  it('gives a customer payments has never seen an account with the default limit', async () => {
    const customerId = randomUUID();
    const declined = await authorize(db, authorization(customerId, 5_001), { defaultCreditLimitCents: 5_000 });
    expect(declined).toMatchObject({ ok: false, reason: 'PAYMENT_DECLINED', declineReason: 'INSUFFICIENT_CREDIT' });
    expect(await authorize(db, authorization(customerId, 5_000), { defaultCreditLimitCents: 5_000 })).toMatchObject({ ok: true });
    expect(await balance(customerId)).toEqual({ creditLimitCents: 5_000, heldCents: 5_000, spentCents: 0 });
    // The default applies to new accounts only: this one keeps its limit.
    expect(await authorize(db, authorization(customerId, 1), { defaultCreditLimitCents: 1_000_000 })).toMatchObject({ ok: false });
  });
});

describe('idempotency per (sagaId, step)', () => {
  it('repeating each operation has exactly one effect and returns the first result', async () => {
    const customerId = await customerWithLimit(10_000);
    const command = authorization(customerId, 1_000);
    const keys = { sagaId: command.sagaId, orderId: command.orderId };

    const first = await authorize(db, command);
    expect(await authorize(db, command)).toEqual(first);
    // The key decides, not the payload: a redelivery is never a second authorization.
    expect(await authorize(db, { ...command, amountCents: 2_000 })).toEqual(first);
    expect(await balance(customerId)).toEqual({ creditLimitCents: 10_000, heldCents: 1_000, spentCents: 0 });

    const captured = await capture(db, keys);
    expect(await capture(db, keys)).toEqual(captured);
    expect(await balance(customerId)).toEqual({ creditLimitCents: 10_000, heldCents: 0, spentCents: 1_000 });

    const refunded = await refund(db, keys);
    expect(await refund(db, keys)).toEqual(refunded);
    expect(await balance(customerId)).toEqual({ creditLimitCents: 10_000, heldCents: 0, spentCents: 0 });

    expect(await db.processedCommand.findMany({ where: { sagaId: command.sagaId }, select: { step: true }, orderBy: { step: 'asc' } })).toEqual([
      { step: 'authorize' },
      { step: 'capture' },
      { step: 'refund' },
    ]);
    expect(await db.payment.count({ where: { customerId } })).toBe(1);
  });

  it('a repeated void releases the hold once', async () => {
    const customerId = await customerWithLimit(10_000);
    const held = authorization(customerId, 2_000);
    const other = authorization(customerId, 3_000);
    await authorize(db, held);
    await authorize(db, other);
    const keys = { sagaId: held.sagaId, orderId: held.orderId };
    const first = await voidAuthorization(db, keys);
    expect(await voidAuthorization(db, keys)).toEqual(first);
    // Releasing twice would have taken the other order's hold down with it.
    expect(await balance(customerId)).toMatchObject({ heldCents: 3_000 });
  });

  it('concurrent deliveries of one command act once', async () => {
    const customerId = await customerWithLimit(10_000);
    const command = authorization(customerId, 1_500);
    const results = await Promise.all(Array.from({ length: 10 }, () => authorize(db, command)));
    expect(new Set(results.map((r) => JSON.stringify(r))).size).toBe(1);
    expect(results[0]).toMatchObject({ ok: true });
    expect(await balance(customerId)).toMatchObject({ heldCents: 1_500 });

    const keys = { sagaId: command.sagaId, orderId: command.orderId };
    await Promise.all(Array.from({ length: 10 }, () => capture(db, keys)));
    expect(await balance(customerId)).toEqual({ creditLimitCents: 10_000, heldCents: 0, spentCents: 1_500 });
  });

  it('a failed command leaves no record, so it can be carried out later', async () => {
    const customerId = await customerWithLimit(10_000);
    const command = authorization(customerId, 1_000);
    const invalid = await authorize(db, { ...command, currency: 'euro' });
    expect(invalid).toMatchObject({ ok: false, reason: 'INVALID_COMMAND', message: expect.stringContaining('currency') });
    expect(await db.processedCommand.count({ where: { sagaId: command.sagaId } })).toBe(0);
    expect(await authorize(db, command)).toMatchObject({ ok: true });
  });
});

describe('declines', () => {
  it('declines exactly when the amount is more than is available, and changes no balance', async () => {
    const customerId = await customerWithLimit(10_000);
    await authorize(db, authorization(customerId, 6_000));
    const before = await balance(customerId);

    for (let i = 0; i < 3; i++) {
      const command = authorization(customerId, 4_001);
      const result = await authorize(db, command);
      expect(result).toEqual({ ok: false, reason: 'PAYMENT_DECLINED', paymentId: expect.any(String), declineReason: 'INSUFFICIENT_CREDIT' });
      expect(await paymentOf(command.orderId)).toMatchObject({ status: 'DECLINED', declineReason: 'INSUFFICIENT_CREDIT', amountCents: 4_001, authorizedAt: null });
      expect(await balance(customerId)).toEqual(before);
    }
    // The boundary: everything that is available can be authorized.
    expect(await authorize(db, authorization(customerId, 4_000))).toMatchObject({ ok: true });
    expect(await balance(customerId)).toEqual({ creditLimitCents: 10_000, heldCents: 10_000, spentCents: 0 });
  });

  it('declines an amount in another currency than the account', async () => {
    const customerId = await customerWithLimit(10_000);
    const result = await authorize(db, authorization(customerId, 100, { currency: 'USD' }));
    expect(result).toMatchObject({ ok: false, reason: 'PAYMENT_DECLINED', declineReason: 'CURRENCY_MISMATCH' });
    expect(await balance(customerId)).toMatchObject({ heldCents: 0 });
  });

  it('lets a later saga authorize a declined order once the limit allows it', async () => {
    const customerId = await customerWithLimit(1_000);
    const first = authorization(customerId, 2_000);
    const declined = await authorize(db, first);
    expect(declined).toMatchObject({ ok: false, reason: 'PAYMENT_DECLINED' });
    await setCreditLimit(db, customerId, 5_000);
    const retried = await authorize(db, { ...first, sagaId: `saga-${randomUUID()}` });
    expect(retried).toEqual({ ok: true, paymentId: (declined as { paymentId: string }).paymentId });
    expect(await paymentOf(first.orderId)).toMatchObject({ status: 'AUTHORIZED', declineReason: null, authorizedAt: expect.any(Date) });
    expect(await balance(customerId)).toMatchObject({ heldCents: 2_000 });
  });
});

describe('compensations and impossible transitions', () => {
  it('void without an authorization succeeds and changes nothing', async () => {
    const customerId = await customerWithLimit(10_000);
    const command = authorization(customerId, 1_000);
    const keys = { sagaId: command.sagaId, orderId: command.orderId };
    expect(await voidAuthorization(db, keys)).toEqual({ ok: true, paymentId: null });
    expect(await paymentOf(command.orderId)).toBeNull();
    // An authorization of the same saga arriving after its compensation must not hold credit.
    expect(await authorize(db, command)).toMatchObject({ ok: false, reason: 'INVALID_TRANSITION' });
    expect(await paymentOf(command.orderId)).toBeNull();
    expect(await balance(customerId)).toEqual({ creditLimitCents: 10_000, heldCents: 0, spentCents: 0 });
  });

  it('void of a declined authorization succeeds and changes nothing', async () => {
    const customerId = await customerWithLimit(1_000);
    const command = authorization(customerId, 5_000);
    await authorize(db, command);
    const result = await voidAuthorization(db, { sagaId: command.sagaId, orderId: command.orderId });
    expect(result).toMatchObject({ ok: true });
    expect(await paymentOf(command.orderId)).toMatchObject({ status: 'DECLINED', voidedAt: null });
    expect(await balance(customerId)).toEqual({ creditLimitCents: 1_000, heldCents: 0, spentCents: 0 });
  });

  it('refuses transitions the payment cannot make, without effect', async () => {
    const customerId = await customerWithLimit(10_000);
    const command = authorization(customerId, 1_000);
    const saga = (step: string) => ({ sagaId: `${command.sagaId}-${step}`, orderId: command.orderId });

    expect(await capture(db, saga('capture-first'))).toMatchObject({ ok: false, reason: 'PAYMENT_NOT_FOUND' });
    expect(await refund(db, saga('refund-first'))).toMatchObject({ ok: false, reason: 'PAYMENT_NOT_FOUND' });
    await authorize(db, command);
    expect(await refund(db, saga('refund-authorized'))).toMatchObject({ ok: false, reason: 'INVALID_TRANSITION', message: expect.stringContaining('AUTHORIZED') });
    await capture(db, saga('capture'));
    expect(await voidAuthorization(db, saga('void-captured'))).toMatchObject({ ok: false, reason: 'INVALID_TRANSITION' });
    await refund(db, saga('refund'));
    expect(await capture(db, saga('capture-refunded'))).toMatchObject({ ok: false, reason: 'INVALID_TRANSITION' });
    expect(await authorize(db, { ...command, sagaId: `${command.sagaId}-again` })).toMatchObject({ ok: false, reason: 'INVALID_TRANSITION' });

    expect(await paymentOf(command.orderId)).toMatchObject({ status: 'REFUNDED' });
    expect(await balance(customerId)).toEqual({ creditLimitCents: 10_000, heldCents: 0, spentCents: 0 });
  });

  it('a void racing its own authorization never leaves credit held', async () => {
    const customerId = await customerWithLimit(1_000_000);
    const commands = Array.from({ length: 20 }, () => authorization(customerId, 1_000));
    await Promise.all(
      commands.flatMap((c) => [authorize(db, c), voidAuthorization(db, { sagaId: c.sagaId, orderId: c.orderId })]),
    );
    expect(await balance(customerId)).toMatchObject({ heldCents: 0 });
    expect(await db.payment.count({ where: { customerId, status: 'AUTHORIZED' } })).toBe(0);
  });
});

describe('concurrency', () => {
  it('50 concurrent authorizations on one account never exceed its limit', async () => {
    const limit = 10_000;
    const customerId = await customerWithLimit(limit);
    // Varied amounts adding up to far more than the limit.
    const commands = Array.from({ length: 50 }, (_, i) => authorization(customerId, 200 + ((i * 137) % 600)));
    const results = await Promise.all(commands.map((c) => authorize(db, c)));

    const succeeded = commands.filter((_, i) => results[i]!.ok);
    const declined = commands.filter((_, i) => !results[i]!.ok);
    expect(results.every((r) => r.ok || r.reason === 'PAYMENT_DECLINED')).toBe(true);
    expect(declined.length).toBeGreaterThan(0);

    const account = await balance(customerId);
    const heldBySuccesses = succeeded.reduce((sum, c) => sum + c.amountCents, 0);
    expect(account.heldCents).toBe(heldBySuccesses);
    expect(account.heldCents).toBeLessThanOrEqual(limit);
    // Credit only went down during the burst, so each decline was right when it was made and still is.
    expect(limit - account.heldCents).toBeLessThan(Math.min(...declined.map((c) => c.amountCents)));
    const authorizedRows = await db.payment.aggregate({ where: { customerId, status: 'AUTHORIZED' }, _sum: { amountCents: true }, _count: true });
    expect(authorizedRows).toEqual({ _sum: { amountCents: heldBySuccesses }, _count: succeeded.length });
  });
});

describe('the database connection', () => {
  it("prepares each statement once per connection (createPrismaDb's statement names)", async () => {
    // The query below is itself prepared: it finds itself among its connection's named statements.
    const rows = await db.$queryRaw<Array<{ name: string }>>`SELECT name FROM pg_prepared_statements WHERE statement LIKE '%pg_prepared_statements%'`;
    expect(rows.map((r) => r.name)).toEqual([expect.stringMatching(/^mercado_\d+$/)]);
  });

  it("directSql answers as Prisma's $queryRaw does (UTC timestamps, bigint, JSON), and inside a transaction stays in it", async () => {
    const customerId = await customerWithLimit(700);
    const at = new Date('2026-03-04T05:06:07.089Z');
    const read = (db: RawQuery) =>
      db.$queryRaw<unknown[]>`SELECT "customerId", "creditLimitCents", ${at}::timestamp AS "at", "updatedAt", 42::int8 AS "big", ${{ a: [1, 'b'] }}::jsonb AS "json", ${[customerId]}::uuid[] AS "ids"
        FROM "PaymentAccount" WHERE "customerId" = ${customerId}::uuid`;
    // Off UTC, so that a timestamp read or written in the process's local time would show.
    const zone = process.env.TZ;
    process.env.TZ = 'America/New_York';
    const [[viaPrisma], [direct]] = await Promise.all([read(db), read(directSql(db))]).finally(() => {
      if (zone === undefined) delete process.env.TZ;
      else process.env.TZ = zone;
    });
    expect(direct).toEqual(viaPrisma);
    expect(direct).toMatchObject({ customerId, creditLimitCents: 700, at, big: 42n, json: { a: [1, 'b'] }, ids: [customerId] });

    await expect(
      db.$transaction(async (tx) => {
        await directSql(tx).$queryRaw`UPDATE "PaymentAccount" SET "creditLimitCents" = 1 WHERE "customerId" = ${customerId}::uuid RETURNING 1`;
        throw new Error('roll back');
      }),
    ).rejects.toThrow('roll back');
    expect((await balance(customerId)).creditLimitCents).toBe(700);
  });
});
