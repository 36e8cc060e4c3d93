/**
 * `npm run secrets`: creates this installation's development secrets (.mercado/secrets.env) if
 * they do not exist yet. `npm start` does it by itself; docker-compose reads the same file.
 */
import { localSecrets, localSecretsFile } from '@mercado/bring-up';

const { created } = localSecrets();
console.log(created ? `wrote ${localSecretsFile} (a new random INTERNAL_TOKEN_SECRET)` : `${localSecretsFile} exists; delete it to get a new secret`);
