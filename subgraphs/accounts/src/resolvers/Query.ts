import { isId } from '@mercado/service-kit';
import type { AccountsContext } from '../context.ts';

export const Query = {
  me: (_: unknown, __: unknown, ctx: AccountsContext) =>
    ctx.viewer && isId(ctx.viewer.id) ? ctx.userById.load(ctx.viewer.id.toLowerCase()) : null,
};
