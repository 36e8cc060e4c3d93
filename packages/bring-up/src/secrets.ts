import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { developmentInternalTokenSecret } from '@mercado/service-kit';

export const repositoryRoot = fileURLToPath(new URL('../../../', import.meta.url));

/** Where `npm start` keeps this installation's development secrets (git-ignored). */
export const localSecretsFile = join(repositoryRoot, '.mercado', 'secrets.env');

/**
 * This installation's development secrets, created on first use: a random INTERNAL_TOKEN_SECRET
 * (the key the gateway signs the identity it forwards with), never a constant, so nobody who has
 * read this repository can act as a user at the services of someone's `npm start`. Kept in
 * `.mercado/secrets.env` (readable by its owner only; docker-compose reads the same file).
 * A variable set in the environment wins over the file.
 */
export function localSecrets(file = localSecretsFile): { INTERNAL_TOKEN_SECRET: string; created: boolean } {
  const fromFile = existsSync(file) ? parseEnvFile(readFileSync(file, 'utf8')) : {};
  let created = false;
  // The public value an older checkout may have written is replaced like a missing one.
  if (!fromFile.INTERNAL_TOKEN_SECRET || fromFile.INTERNAL_TOKEN_SECRET === developmentInternalTokenSecret) {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    fromFile.INTERNAL_TOKEN_SECRET = randomBytes(32).toString('hex');
    writeFileSync(
      file,
      `# Development secrets of this installation, made by npm start. Never commit them; delete this file to get new ones.\n` +
        Object.entries(fromFile).map(([key, value]) => `${key}=${value}`).join('\n') +
        '\n',
      { mode: 0o600 },
    );
    chmodSync(file, 0o600);
    created = true;
  }
  return { INTERNAL_TOKEN_SECRET: process.env.INTERNAL_TOKEN_SECRET || fromFile.INTERNAL_TOKEN_SECRET, created };
}

/** `KEY=value` lines, `#` comments. */
export function parseEnvFile(text: string): Record<string, string> {
  const values: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const match = /^\s*([A-Z_][A-Z0-9_]*)\s*=\s*(.*?)\s*$/.exec(line);
    if (match && !line.trimStart().startsWith('#')) values[match[1]!] = match[2]!;
  }
  return values;
}
