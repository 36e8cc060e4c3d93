import { GraphQLError } from 'graphql';
import { ErrorCode, requireViewer } from '@mercado/service-kit';
import type { AccountsContext } from '../context.ts';
import { authenticate, changePassword, registerUser, type User } from '../domain/users.ts';
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
  signOut: async (_: unknown, __: unknown, ctx: AccountsContext) => {
    await ctx.sessions.revokeAll(requireViewer(ctx.viewer).id.toLowerCase());
    return true;
  },
  // Throttled like login (a stolen token must not become a way to guess the password), keyed by
  // the user; the other sessions end before the new token is issued, so it outlives them.
  changePassword: async (_: unknown, args: { currentPassword: string; newPassword: string }, ctx: AccountsContext) => {
    const userId = requireViewer(ctx.viewer).id.toLowerCase();
    await ctx.signInThrottle.attempt(`user:${userId}`, ctx.clientAddress);
    const user = await changePassword(ctx.db, userId, args.currentPassword, args.newPassword);
    await ctx.signInThrottle.succeeded(`user:${userId}`, ctx.clientAddress);
    await ctx.sessions.revokeAll(user.id);
    return signIn(user, ctx);
  },
};

const isConflict = (error: unknown) => error instanceof GraphQLError && error.extensions.code === ErrorCode.CONFLICT;
