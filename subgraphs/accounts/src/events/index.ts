import { appendToOutbox, type ServiceEvents } from '@mercado/event-bus';
import type { Db } from '../db.ts';
import { UserSnapshotPublished } from './UserRegistered.ts';

export const accountsEvents: ServiceEvents<Db> = {
  produces: true,
  async republish(db) {
    const users = await db.user.findMany({ orderBy: { id: 'asc' }, omit: { passwordHash: true } });
    for (let i = 0; i < users.length; i += 500) {
      await db.$transaction((tx) => appendToOutbox(tx, ...users.slice(i, i + 500).map(UserSnapshotPublished)));
    }
    return users.length;
  },
};
