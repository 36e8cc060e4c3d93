import { isId, type Viewer } from '@mercado/service-kit';
import type { AccountsContext } from '../context.ts';
import type { User as UserRow } from '../domain/users.ts';

// A symbol, so no representation sent by a client can carry it.
const justSignedIn = Symbol('justSignedIn');
type UserParent = UserRow & { [justSignedIn]?: true };

/**
 * The user of a register/login result: the request carries no viewer yet, but whoever sent
 * the right password may see their own email and role.
 */
export const asSignedInUser = (user: UserRow): UserParent => ({ ...user, [justSignedIn]: true });

const canSeePrivate = (user: UserParent, viewer: Viewer | null) =>
  user[justSignedIn] === true || viewer?.id === user.id || viewer?.role === 'admin';

const graphQLRole = { customer: 'CUSTOMER', admin: 'ADMIN' } as const;

export const User = {
  // Batched through the request's DataLoader: 50 references, one SQL query.
  __resolveReference: (ref: { id: string }, ctx: AccountsContext) => (isId(ref.id) ? ctx.userById.load(ref.id.toLowerCase()) : null),
  email: (user: UserParent, _: unknown, ctx: AccountsContext) => (canSeePrivate(user, ctx.viewer) ? user.email : null),
  role: (user: UserParent, _: unknown, ctx: AccountsContext) => (canSeePrivate(user, ctx.viewer) ? graphQLRole[user.role] : null),
};
