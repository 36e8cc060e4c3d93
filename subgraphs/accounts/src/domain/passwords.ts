import { randomBytes } from 'node:crypto';
import { hash, verify } from '@node-rs/argon2';

/** Argon2id with the library's defaults (19 MiB, 2 passes), the OWASP baseline. */
export const hashPassword = (password: string): Promise<string> => hash(password);

let decoy: Promise<string> | undefined;

/**
 * A hash of a password nobody knows. Checking a password against it when the email is unknown
 * makes that answer take as long as a wrong password, so response times do not reveal which
 * emails have accounts.
 */
export function decoyHash(): Promise<string> {
  return (decoy ??= hashPassword(randomBytes(32).toString('base64url')));
}

/** False for a null hash too, after spending the same time as a real check. */
export async function verifyPassword(passwordHash: string | null, password: string): Promise<boolean> {
  if (passwordHash === null) {
    await verify(await decoyHash(), password);
    return false;
  }
  return verify(passwordHash, password);
}
