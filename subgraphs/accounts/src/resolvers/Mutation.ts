import { GraphQLError } from 'graphql';
import { ErrorCode } from '@mercado/service-kit';
import type { AccountsContext } from '../context.ts';
import { authenticate, registerUser, type User } from '../domain/users.ts';
import { asSignedInUser } from './User.ts';

async function signIn(user: User, ctx: AccountsContext) {
  return { ...(await ctx.tokens.issue(user)), user: asSignedInUser(user) };
}

export const Mutation = {
  // A taken email answers CONFLICT (a person registering needs to know), but each one counts as a
  // failed attempt against the address, as a wrong password does: a stranger learns at most as
  // many emails a day as they may guess passwords.
  register: async (_: unknown, args: { input: unknown }, ctx: AccountsContext) => {
    await ctx.signInThrottle.checkAddress(ctx.clientAddress);
    try {
      return await signIn(await registerUser(ctx.db, args.input), ctx);
    } catch (error) {
      if (isConflict(error)) await ctx.signInThrottle.penalise(ctx.clientAddress);
      throw error;
    }
  },
  // The attempt is counted before the password is checked, and the same way for an unknown email.
  login: async (_: unknown, args: { email: string; password: string }, ctx: AccountsContext) => {
    await ctx.signInThrottle.attempt(args.email, ctx.clientAddress);
    const user = await authenticate(ctx.db, args.email, args.password);
    await ctx.signInThrottle.succeeded(args.email, ctx.clientAddress);
    return signIn(user, ctx);
  },
};

const isConflict = (error: unknown) => error instanceof GraphQLError && error.extensions.code === ErrorCode.CONFLICT;
