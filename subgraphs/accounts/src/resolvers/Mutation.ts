import type { AccountsContext } from '../context.ts';
import { authenticate, registerUser, type User } from '../domain/users.ts';
import { asSignedInUser } from './User.ts';

async function signIn(user: User, ctx: AccountsContext) {
  return { ...(await ctx.tokens.issue(user)), user: asSignedInUser(user) };
}

export const Mutation = {
  register: async (_: unknown, args: { input: unknown }, ctx: AccountsContext) => signIn(await registerUser(ctx.db, args.input), ctx),
  login: async (_: unknown, args: { email: string; password: string }, ctx: AccountsContext) =>
    signIn(await authenticate(ctx.db, args.email, args.password), ctx),
};
