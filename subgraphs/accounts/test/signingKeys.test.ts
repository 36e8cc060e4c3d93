import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '@mercado/service-kit/testing';
import { createDb, type Db } from '../src/db.ts';
import { loadSigningKey } from '../src/domain/signingKeys.ts';
import { fetchJwks, graphql, migrations, start, verifyToken } from './helpers.ts';

const databases: TestDatabase[] = [];
const clients: Db[] = [];

async function freshDatabase(): Promise<string> {
  const database = await createTestDatabase('accounts', migrations);
  databases.push(database);
  return database.url;
}

function client(url: string): Db {
  const db = createDb(url);
  clients.push(db);
  return db;
}

afterAll(async () => {
  await Promise.all(clients.map((db) => db.$disconnect()));
  await Promise.all(databases.map((d) => d.drop()));
});

describe('signing keys', () => {
  let db: Db;
  beforeAll(async () => {
    db = client(await freshDatabase());
  });

  it('keeps the key across restarts, so earlier tokens still verify', async () => {
    const first = await start(db);
    const before = await fetchJwks(first);
    const { body } = await graphql(first, `mutation { register(input: { email: "keep@example.test", name: "Keep", password: "long enough password" }) { token } }`);
    await first.close();

    const second = await start(db);
    try {
      const after = await fetchJwks(second);
      expect(after.keys).toHaveLength(1);
      expect(after.keys[0]!.kid).toBe(before.keys[0]!.kid);
      const { protectedHeader } = await verifyToken(second, body.data!.register.token);
      expect(protectedHeader.kid).toBe(before.keys[0]!.kid);
    } finally {
      await second.close();
    }
    expect(await db.signingKey.count()).toBe(1);
  });

  it('agrees on one key when several processes start at once on an empty database', async () => {
    const url = await freshDatabase();
    // One client each, as separate processes would have, so the starts race on separate connections.
    const racers = Array.from({ length: 4 }, () => client(url));
    const keys = await Promise.all(racers.map((db) => loadSigningKey(db)));
    expect(new Set(keys.map((k) => k.kid)).size).toBe(1);
    expect(await racers[0]!.signingKey.count()).toBe(1);
  });
});
