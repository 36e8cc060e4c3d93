import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { developmentInternalTokenSecret } from '@mercado/service-kit';
import { localSecrets, parseEnvFile } from '../src/secrets.ts';

// A secret set in the environment wins over the file; these tests are about the file.
delete process.env.INTERNAL_TOKEN_SECRET;
const dir = mkdtempSync(join(tmpdir(), 'mercado-secrets-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('local secrets', () => {
  it('creates a random secret per installation on first use, readable by its owner only, and keeps it', () => {
    const file = join(dir, 'a', 'secrets.env');
    const first = localSecrets(file);
    expect(first.created).toBe(true);
    expect(first.INTERNAL_TOKEN_SECRET).toMatch(/^[0-9a-f]{64}$/);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(localSecrets(file)).toEqual({ INTERNAL_TOKEN_SECRET: first.INTERNAL_TOKEN_SECRET, created: false });
    expect(localSecrets(join(dir, 'b', 'secrets.env')).INTERNAL_TOKEN_SECRET).not.toBe(first.INTERNAL_TOKEN_SECRET);
  });

  it('replaces the old public development secret', () => {
    const file = join(dir, 'old.env');
    writeFileSync(file, `INTERNAL_TOKEN_SECRET=${developmentInternalTokenSecret}\n`);
    const secrets = localSecrets(file);
    expect(secrets.created).toBe(true);
    expect(secrets.INTERNAL_TOKEN_SECRET).not.toBe(developmentInternalTokenSecret);
    expect(parseEnvFile(readFileSync(file, 'utf8')).INTERNAL_TOKEN_SECRET).toBe(secrets.INTERNAL_TOKEN_SECRET);
  });
});
