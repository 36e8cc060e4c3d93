import { seedUsers } from '@mercado/dev-seed';
import type { Db } from './db.ts';
import { hashPassword } from './domain/passwords.ts';
import { createUser } from './domain/users.ts';

/** Idempotent: creates the development users that are missing (each announced as UserRegistered). */
export async function seed(db: Db): Promise<number> {
  const existing = await db.user.findMany({ where: { id: { in: seedUsers.map((u) => u.id) } }, select: { id: true } });
  const present = new Set(existing.map((u) => u.id));
  for (const { password, ...user } of seedUsers) {
    // Argon2 is slow on purpose: users already there keep their hash instead of paying it on every start.
    if (present.has(user.id)) continue;
    await createUser(db, { ...user, passwordHash: await hashPassword(password) });
  }
  return seedUsers.length;
}
