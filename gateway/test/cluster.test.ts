/**
 * `gateway/src/main.ts` with GATEWAY_WORKERS=2: the workers share one port, the primary says
 * "gateway ready" once, replaces a worker that dies, and stops everything on SIGTERM.
 */
import { randomBytes } from 'node:crypto';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { deleteRateLimitKeys } from '../src/rateLimit.ts';

const gatewayDir = fileURLToPath(new URL('..', import.meta.url));
const rateLimitPrefix = `mercado:test:cluster:${process.pid}:${Date.now()}`;
let primary: ChildProcess | undefined;
const lines: Array<Record<string, unknown>> = [];

afterAll(async () => {
  if (primary?.exitCode === null) primary.kill('SIGKILL');
  await deleteRateLimitKeys('redis://127.0.0.1:6379', rateLimitPrefix);
});

function childrenOf(pid: number): number[] {
  const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
  return children ? children.split(' ').map(Number) : [];
}

async function until<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; logs:\n${lines.map((line) => JSON.stringify(line)).join('\n')}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const logged = (message: string) => lines.filter((line) => line.msg === message);

describe('the clustered gateway', () => {
  it('serves from two workers on one port, replaces a dead worker and stops on SIGTERM', async () => {
    primary = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      cwd: gatewayDir,
      env: { ...process.env, INTERNAL_TOKEN_SECRET: randomBytes(32).toString('hex'), GATEWAY_WORKERS: '2', PORT: '0', LOG_LEVEL: 'info', NODE_ENV: 'development', RATE_LIMIT_PREFIX: rateLimitPrefix, APOLLO_TELEMETRY_DISABLED: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let buffered = '';
    primary.stdout!.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      const complete = buffered.split('\n');
      buffered = complete.pop()!;
      for (const line of complete) {
        try {
          lines.push(JSON.parse(line) as Record<string, unknown>);
        } catch {
          lines.push({ msg: line });
        }
      }
    });
    const exited = new Promise<number | null>((resolve) => primary!.once('exit', (code) => resolve(code)));

    const ready = await until('gateway ready', () => logged('gateway ready')[0]);
    expect(ready).toMatchObject({ workers: 2 });
    const url = ready.url as string;
    const workers = childrenOf(primary.pid!);
    expect(workers).toHaveLength(2);

    // Both workers answer on the one port (connections are dealt round-robin).
    const answer = async () => {
      const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', connection: 'close' }, body: '{"query":"{ __typename }"}' });
      return res.json();
    };
    for (let i = 0; i < 4; i++) expect(await answer()).toEqual({ data: { __typename: 'Query' } });

    process.kill(workers[0]!, 'SIGKILL');
    await until('a replacement worker', () => {
      const now = childrenOf(primary!.pid!);
      return now.length === 2 && !now.includes(workers[0]!) ? now : undefined;
    });
    expect(logged('a gateway worker died; starting another')).toHaveLength(1);
    await until('the replacement to serve', () => logged('replacement gateway worker ready')[0]);
    for (let i = 0; i < 4; i++) expect(await answer()).toEqual({ data: { __typename: 'Query' } });
    expect(logged('gateway ready')).toHaveLength(1);

    const remaining = childrenOf(primary.pid!);
    primary.kill('SIGTERM');
    expect(await exited).toBe(0);
    for (const pid of remaining) expect(() => process.kill(pid, 0)).toThrow();
  }, 120_000);
});
