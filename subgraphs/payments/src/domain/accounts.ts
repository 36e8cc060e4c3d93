import * as z from 'zod';
import { badInput, parseInput, type Viewer } from '@mercado/service-kit';
import type { Db, Tx } from '../db.ts';
import type { PaymentAccount } from '../generated/prisma/client.ts';

export type { PaymentAccount };

/** Credit of a customer payments has not seen before; `DEFAULT_CREDIT_LIMIT_CENTS` overrides it. */
export const DEFAULT_CREDIT_LIMIT_CENTS = 100_000;
/** 10 million in the account's currency: far above any real limit, well inside a 32-bit Int. */
export const MAX_CREDIT_LIMIT_CENTS = 1_000_000_000;
/** Mercado sells in EUR today; an account that no payment has opened yet is in EUR. */
export const ACCOUNT_CURRENCY = 'EUR';

/** What the graph shows of an account. */
export interface AccountView {
  creditLimitCents: number;
  heldCents: number;
  spentCents: number;
  availableCents: number;
  currency: string;
}

export const availableCents = (a: Pick<PaymentAccount, 'creditLimitCents' | 'heldCents' | 'spentCents'>) =>
  a.creditLimitCents - a.heldCents - a.spentCents;

export function accountView(account: PaymentAccount): AccountView {
  const { creditLimitCents, heldCents, spentCents, currency } = account;
  return { creditLimitCents, heldCents, spentCents, availableCents: availableCents(account), currency };
}

/** A customer without an account row has the default credit, untouched: what their first authorization will find. */
export const unusedAccountView = (creditLimitCents: number): AccountView => ({
  creditLimitCents,
  heldCents: 0,
  spentCents: 0,
  availableCents: creditLimitCents,
  currency: ACCOUNT_CURRENCY,
});

/** A customer sees their own account; admins see everyone's. */
export function canSeeAccount(viewer: Viewer | null, customerId: string): boolean {
  return viewer !== null && (viewer.role === 'admin' || viewer.id.toLowerCase() === customerId.toLowerCase());
}

/** One query for any number of customers; in the order of `customerIds`, null where there is no account. */
export async function accountsByCustomerIds(db: Db, customerIds: readonly string[]): Promise<Array<PaymentAccount | null>> {
  const rows = await db.paymentAccount.findMany({ where: { customerId: { in: [...customerIds] } } });
  const byId = new Map(rows.map((a) => [a.customerId, a]));
  return customerIds.map((id) => byId.get(id) ?? null);
}

/**
 * Creates the customer's account if missing, then locks its row until the transaction ends, so
 * that concurrent authorizations for one customer see each other's holds (no lost update).
 */
export async function lockAccount(
  tx: Tx,
  customerId: string,
  create: { creditLimitCents: number; currency: string },
): Promise<PaymentAccount> {
  // ON CONFLICT DO NOTHING: two first authorizations for a new customer both end up locking the one row.
  await tx.$executeRaw`
    INSERT INTO "PaymentAccount" ("customerId", "creditLimitCents", "currency", "updatedAt")
    VALUES (${customerId}::uuid, ${create.creditLimitCents}, ${create.currency}, now())
    ON CONFLICT ("customerId") DO NOTHING`;
  const [account] = await tx.$queryRaw<PaymentAccount[]>`
    SELECT "customerId", "creditLimitCents", "heldCents", "spentCents", "currency", "updatedAt"
    FROM "PaymentAccount" WHERE "customerId" = ${customerId}::uuid FOR UPDATE`;
  return account!;
}

// An object so that the BAD_USER_INPUT error names the field.
const creditLimitInput = z.object({
  creditLimitCents: z
    .number()
    .int('creditLimitCents must be a whole number of cents')
    .min(0, 'creditLimitCents cannot be negative')
    .max(MAX_CREDIT_LIMIT_CENTS, `creditLimitCents must be at most ${MAX_CREDIT_LIMIT_CENTS}`),
});

/**
 * Sets a customer's credit limit, opening the account if it has none. A limit below what is
 * already held and spent is refused: it would leave the account overdrawn.
 */
export async function setCreditLimit(db: Db, customerId: string, creditLimitCents: number): Promise<AccountView> {
  const { creditLimitCents: limit } = parseInput(creditLimitInput, { creditLimitCents });
  return db.$transaction(async (tx) => {
    // Locked, so an authorization cannot slip in between the check and the update.
    const account = await lockAccount(tx, customerId, { creditLimitCents: limit, currency: ACCOUNT_CURRENCY });
    const used = account.heldCents + account.spentCents;
    if (limit < used) {
      throw badInput(`creditLimitCents cannot be below the ${used} cents already held and spent`, 'creditLimitCents');
    }
    return accountView(await tx.paymentAccount.update({ where: { customerId }, data: { creditLimitCents: limit } }));
  });
}

/** Opens an account for each customer that has none; existing accounts keep their limits and balances. */
export async function createMissingAccounts(db: Db, limits: Readonly<Record<string, number>>): Promise<number> {
  const data = Object.entries(limits).map(([customerId, creditLimitCents]) => ({
    customerId,
    currency: ACCOUNT_CURRENCY,
    ...parseInput(creditLimitInput, { creditLimitCents }),
  }));
  const { count } = await db.paymentAccount.createMany({ data, skipDuplicates: true });
  return count;
}
