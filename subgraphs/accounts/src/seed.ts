import { seedUsers } from '@mercado/dev-seed';
import type { Db } from './db.ts';
import { hashPassword } from './domain/passwords.ts';

/** Idempotent: upserts the development users by id. */
export async function seed(db: Db): Promise<number> {
  const existing = await db.user.findMany({ where: { id: { in: seedUsers.map((u) => u.id) } }, select: { id: true } });
  const present = new Set(existing.map((u) => u.id));
  for (const { password, ...user } of seedUsers) {
    // Argon2 is slow on purpose: users already there keep their hash instead of paying it on every start.
    if (present.has(user.id)) continue;
    await db.user.upsert({ where: { id: user.id }, create: { ...user, passwordHash: await hashPassword(password) }, update: {} });
  }
  return seedUsers.length;
}
