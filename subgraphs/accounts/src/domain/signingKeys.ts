import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, type CryptoKey, type JWK } from 'jose';
import type { Db } from '../db.ts';
import type { Prisma, SigningKey as SigningKeyRow } from '../generated/prisma/client.ts';

export const TOKEN_ALGORITHM = 'ES256';

export interface SigningKey {
  kid: string;
  privateKey: CryptoKey | Uint8Array;
}

type Tx = Prisma.TransactionClient;

const newest = (db: Db | Tx) => db.signingKey.findFirst({ orderBy: [{ createdAt: 'desc' }, { kid: 'asc' }] });

/**
 * The key new tokens are signed with: the newest stored one, or a fresh one stored now. Stored
 * in the database so that restarts and replicas share it.
 */
export async function loadSigningKey(db: Db): Promise<SigningKey> {
  const row = (await newest(db)) ?? (await createFirstKey(db));
  return { kid: row.kid, privateKey: await importJWK(row.privateJwk as JWK, TOKEN_ALGORITHM) };
}

async function createFirstKey(db: Db): Promise<SigningKeyRow> {
  const pair = await generateKeyPair(TOKEN_ALGORITHM, { extractable: true });
  const publicJwk = await exportJWK(pair.publicKey);
  const kid = await calculateJwkThumbprint(publicJwk);
  const privateJwk = await exportJWK(pair.privateKey);
  return db.$transaction(async (tx) => {
    // Replicas starting together on an empty table must agree on one key: the lock makes them
    // take turns, and the second finds the first one's key instead of adding its own.
    await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtext('mercado-accounts:signing-key'))`;
    const existing = await newest(tx);
    if (existing) return existing;
    return tx.signingKey.create({
      data: {
        kid,
        algorithm: TOKEN_ALGORITHM,
        privateJwk: { ...privateJwk, kid, alg: TOKEN_ALGORITHM } as Prisma.InputJsonObject,
        publicJwk: { ...publicJwk, kid, alg: TOKEN_ALGORITHM, use: 'sig' } as Prisma.InputJsonObject,
      },
    });
  });
}

/** Public halves of every stored key, newest first: tokens signed with an older key still verify. */
export async function publicKeys(db: Db): Promise<JWK[]> {
  const rows = await db.signingKey.findMany({ select: { publicJwk: true }, orderBy: [{ createdAt: 'desc' }, { kid: 'asc' }] });
  return rows.map((r) => r.publicJwk as JWK);
}
