import { assertId, requireAdmin } from '@mercado/service-kit';
import type { PaymentsContext } from '../context.ts';
import { setCreditLimit } from '../domain/accounts.ts';

export const Mutation = {
  setCreditLimit: (_: unknown, args: { customerId: string; creditLimitCents: number }, ctx: PaymentsContext) => {
    requireAdmin(ctx.viewer);
    return setCreditLimit(ctx.db, assertId(args.customerId, 'customerId'), args.creditLimitCents);
  },
};
