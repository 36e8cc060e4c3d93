import { newEvent } from '@mercado/event-bus';

interface UserState {
  id: string;
  email: string;
  name: string;
  role: string;
  version: number;
}

/** A person signed up (or was created by the seed). Carries what other services may show of them. */
export const UserRegistered = (u: UserState) => newEvent('accounts', 'UserRegistered', u.id, u.version, { email: u.email, name: u.name, role: u.role });

/** The user's current state, published again so a consumer can rebuild its replica. */
export const UserSnapshotPublished = (u: UserState) => newEvent('accounts', 'UserSnapshotPublished', u.id, u.version, { email: u.email, name: u.name, role: u.role });
