import type { ServiceEvents } from '@mercado/event-bus';
import type { Db } from '../db.ts';
import { UserSnapshotPublished } from './UserRegistered.ts';

export const accountsEvents: ServiceEvents<Db> = {
  produces: true,
  async snapshot(db) {
    const users = await db.user.findMany({ orderBy: { id: 'asc' }, omit: { passwordHash: true } });
    return users.map(UserSnapshotPublished);
  },
};
