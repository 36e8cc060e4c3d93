import { sendJson, type RouteHandler } from '@mercado/service-kit';
import type { Db } from './db.ts';
import { publicKeys } from './domain/signingKeys.ts';

/** The JSON Web Key Set the gateway verifies tokens with. Public, so no gateway signature. */
export function jwksRoute(db: Db): RouteHandler {
  return async (_req, res) => {
    sendJson(res, 200, { keys: await publicKeys(db) }, { 'cache-control': 'public, max-age=300' });
  };
}
