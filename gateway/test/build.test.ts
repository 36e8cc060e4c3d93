/**
 * The gateway as it ships (`npm run build`, gateway/dist): the bundle starts with node alone,
 * answers GraphQL, and loads nothing it only needs in some configurations until it needs it.
 */
import { randomBytes } from 'node:crypto';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleForNode } from '@mercado/build';
import { deleteRateLimitKeys } from '../src/rateLimit.ts';

const gatewayDir = fileURLToPath(new URL('..', import.meta.url));
// Below gateway/ so that the bundle's imports resolve as gateway/dist's do (and ignored by git).
const cacheDir = join(gatewayDir, 'node_modules/.cache');
mkdirSync(cacheDir, { recursive: true });
const outdir = mkdtempSync(join(cacheDir, 'build-test-'));
const rateLimitPrefix = `mercado:test:build:${process.pid}:${Date.now()}`;
let gateway: ChildProcess | undefined;

beforeAll(async () => {
  await bundleForNode([join(gatewayDir, 'src/main.ts')], outdir);
}, 180_000);

afterAll(async () => {
  if (gateway?.exitCode === null) gateway.kill('SIGKILL');
  rmSync(outdir, { recursive: true, force: true });
  await deleteRateLimitKeys('redis://127.0.0.1:6379', rateLimitPrefix);
});

/** The bare imports of the bundle's files that load with main.js (not those only imported lazily). */
function eagerPackages(): Set<string> {
  const packages = new Set<string>();
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    const source = readFileSync(join(outdir, file), 'utf8');
    for (const [, specifier] of source.matchAll(/^import\s[^'"]*?["']([^"']+)["'];?$/gms)) {
      if (specifier!.startsWith('./')) visit(specifier!.slice(2));
      else if (!specifier!.startsWith('node:')) packages.add(specifier!.startsWith('@') ? specifier!.split('/').slice(0, 2).join('/') : specifier!.split('/')[0]!);
    }
  };
  visit('main.js');
  // The gateway proper is imported lazily by main.js (a cluster's primary does without it).
  for (const file of readdirSync(outdir).filter((name) => /^gateway-.*\.js$/.test(name))) visit(file);
  return packages;
}

describe('the compiled gateway', () => {
  it('bundles the workspace sources and keeps the optional and subgraph-only packages out of start-up', () => {
    const packages = eagerPackages();
    expect(packages).toContain('@apollo/gateway');
    expect([...packages].filter((name) => name.startsWith('@mercado/'))).toEqual([]);
    for (const optional of ['@bull-board/api', '@bull-board/express', 'express', 'bullmq', 'amqplib', 'pg', 'prom-client', '@apollo/subgraph']) {
      expect(packages).not.toContain(optional);
    }
  });

  it('starts with node alone and answers GraphQL', async () => {
    gateway = spawn(process.execPath, [join(outdir, 'main.js')], {
      cwd: gatewayDir,
      // gateway/dist finds ../supergraph.graphql by itself; this directory is deeper.
      env: { ...process.env, INTERNAL_TOKEN_SECRET: randomBytes(32).toString('hex'), SUPERGRAPH_PATH: join(gatewayDir, 'supergraph.graphql'), PORT: '0', LOG_LEVEL: 'info', NODE_ENV: 'development', RATE_LIMIT_PREFIX: rateLimitPrefix, APOLLO_TELEMETRY_DISABLED: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no "gateway ready" in 120 s:\n${output}`)), 120_000);
      gateway!.once('exit', (code) => reject(new Error(`the gateway exited (${code}):\n${output}`)));
      gateway!.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
      gateway!.stdout!.on('data', (chunk: Buffer) => {
        output += chunk.toString('utf8');
        for (const line of output.split('\n')) {
          if (!line.includes('"gateway ready"')) continue;
          clearTimeout(timer);
          resolve((JSON.parse(line) as { url: string }).url);
        }
      });
    });
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ __typename }' }),
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ data: { __typename: 'Query' } });
    const exited = new Promise((resolve) => gateway!.once('exit', resolve));
    gateway.kill('SIGTERM');
    await exited;
  }, 180_000);
});
