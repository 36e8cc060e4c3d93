import { isId } from '@mercado/service-kit';
import type { PaymentsContext } from '../context.ts';
import { accountView, canSeeAccount, unusedAccountView } from '../domain/accounts.ts';

export const User = {
  // Payments keeps no user data: the reference is the entity.
  __resolveReference: (ref: { id: string }) => ({ id: ref.id }),
  // Others get null rather than an error, so one hidden account does not fail a whole list of users.
  paymentAccount: async (user: { id: string }, _: unknown, ctx: PaymentsContext) => {
    if (!isId(user.id) || !canSeeAccount(ctx.viewer, user.id)) return null;
    const account = await ctx.accountByCustomerId.load(user.id.toLowerCase());
    return account ? accountView(account) : unusedAccountView(ctx.defaultCreditLimitCents);
  },
};
