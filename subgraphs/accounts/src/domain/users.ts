import * as z from 'zod';
import { badInput, ErrorCode, graphQLError, parseInput } from '@mercado/service-kit';
import { appendToOutbox } from '@mercado/event-bus';
import type { Db } from '../db.ts';
import { UserRegistered } from '../events/UserRegistered.ts';
import { Prisma, type User as UserRow } from '../generated/prisma/client.ts';
import { hashPassword, verifyPassword } from './passwords.ts';

/** A user as the rest of the service sees it: the password hash never leaves this module. */
export type User = Omit<UserRow, 'passwordHash'>;

/** Not one of service-kit's codes: login is the only place it means something. */
export const INVALID_CREDENTIALS = 'INVALID_CREDENTIALS';
// One message for an unknown email and a wrong password, so the answer reveals neither.
const invalidCredentials = () => graphQLError(INVALID_CREDENTIALS as never, 'Email or password is incorrect');

const omitHash = { passwordHash: true } as const;

// PostgreSQL cannot store a NUL byte in text: refused as input, never an internal error.
const noNul = (field: string) => [(value: string) => !value.includes('\u0000'), `${field} must not contain NUL bytes`] as const;

const email = z
  .string()
  .refine(...noNul('email'))
  .trim()
  .toLowerCase()
  .max(254, 'email is at most 254 characters')
  .pipe(z.email('email is not a valid email address'));

const registration = z.object({
  email,
  name: z.string().refine(...noNul('name')).trim().min(1, 'name is required').max(100, 'name is at most 100 characters'),
  password: z.string().refine(...noNul('password')).min(10, 'password is at least 10 characters').max(200, 'password is at most 200 characters'),
});

const emailTaken = () =>
  graphQLError(ErrorCode.CONFLICT, 'An account with this email already exists; sign in instead', { field: 'email' });

/** One query for any number of ids; the result is in the order of `ids`, null where unknown. */
export async function usersByIds(db: Db, ids: readonly string[]): Promise<Array<User | null>> {
  const rows = await db.user.findMany({ where: { id: { in: [...ids] } }, omit: omitHash });
  const byId = new Map(rows.map((u) => [u.id, u]));
  return ids.map((id) => byId.get(id) ?? null);
}

/** Creates a user and announces it (UserRegistered) in the same transaction. */
export async function createUser(
  db: Db,
  data: { id?: string; email: string; name: string; role: 'customer' | 'admin'; passwordHash: string },
): Promise<User> {
  return db.$transaction(async (tx) => {
    const user = await tx.user.create({ data, omit: omitHash });
    await appendToOutbox(tx, UserRegistered(user));
    return user;
  });
}

/** Creates a customer. CONFLICT when the email (compared lower-cased) is taken. */
export async function registerUser(db: Db, input: unknown): Promise<User> {
  const data = parseInput(registration, input);
  // Checked before hashing so a duplicate costs no Argon2 work; the unique index catches races.
  if (await db.user.findUnique({ where: { email: data.email }, select: { id: true } })) throw emailTaken();
  const passwordHash = await hashPassword(data.password);
  try {
    return await createUser(db, { email: data.email, name: data.name, role: 'customer', passwordHash });
  } catch (error) {
    if (error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2002') throw emailTaken();
    throw error;
  }
}

const newPassword = z.object({ newPassword: registration.shape.password });

/** Sets a new password once the current one is checked (INVALID_CREDENTIALS otherwise). */
export async function changePassword(db: Db, userId: string, currentPassword: string, password: string): Promise<User> {
  const { newPassword: checked } = parseInput(newPassword, { newPassword: password });
  const row = await db.user.findUnique({ where: { id: userId } });
  if (!(await verifyPassword(row?.passwordHash ?? null, currentPassword)) || !row) throw invalidCredentials();
  return db.user.update({ where: { id: row.id }, data: { passwordHash: await hashPassword(checked) }, omit: omitHash });
}

/** The user with this email and password, or INVALID_CREDENTIALS after the same work either way. */
export async function authenticate(db: Db, rawEmail: string, password: string): Promise<User> {
  if (rawEmail.includes('\u0000')) throw badInput('email must not contain NUL bytes', 'email');
  const row = await db.user.findUnique({ where: { email: rawEmail.trim().toLowerCase() } });
  const matches = await verifyPassword(row?.passwordHash ?? null, password);
  if (!row || !matches) throw invalidCredentials();
  const { passwordHash: _hash, ...user } = row;
  return user;
}
