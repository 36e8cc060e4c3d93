/**
 * Subscriptions across gateway processes: two compiled gateways (as `npm start -- --replicas 2`
 * runs them) in front of one stack, each with its own queue of live events bound to what its own
 * subscribers follow; both deliver a price change to their subscribers. A gateway that stops
 * ends its subscriptions with SERVICE_UNAVAILABLE; once started again, a client that subscribes
 * again gets the current state, including what changed while it was away.
 */
import { createServer } from 'node:net';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnDeployable, untilReady, type DeployableProcess } from '@mercado/bring-up';
import { seedId } from '@mercado/dev-seed';
import { deleteRateLimitKeys } from '@mercado/gateway';
import { postGraphQL, testInternalSecret } from '@mercado/service-kit/testing';
import { startInProcessStack, type InProcessStack } from '../src/index.ts';
import { signIn } from './helpers.ts';
import { followWs, until, wsClient } from './liveSupport.ts';

const PRODUCT = `subscription($id: ID!) { productUpdated(id: $id) { id priceCents stock { available } } }`;
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const rateLimitPrefix = `live-replicas-${randomBytes(4).toString('hex')}`;

let stack: InProcessStack;
let admin: Record<string, string>;
const gateways: DeployableProcess[] = [];
const clients: Array<{ dispose(): void | Promise<void> }> = [];

const freePort = () =>
  new Promise<number>((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });

async function startGatewayProcess(replica: number, port?: number): Promise<DeployableProcess> {
  const ports = { port: port ?? (await freePort()), metricsPort: await freePort() };
  const proc = spawnDeployable({
    name: 'gateway',
    replica,
    ports,
    host: '127.0.0.1',
    env: {
      PORT: String(ports.port),
      METRICS_PORT: String(ports.metricsPort),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      APOLLO_TELEMETRY_DISABLED: '1',
      INTERNAL_TOKEN_SECRET: testInternalSecret,
      REDIS_URL: redisUrl,
      RATE_LIMIT_PREFIX: rateLimitPrefix,
      ADMIN_DASHBOARD: 'off',
      AMQP_URL: process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672',
      EVENTS_PREFIX: stack.eventsPrefix,
      ACCOUNTS_JWKS_URL: `${stack.subgraphs.accounts!.baseUrl}/.well-known/jwks.json`,
      ...Object.fromEntries(Object.entries(stack.subgraphs).map(([name, s]) => [`SUBGRAPH_${name.toUpperCase()}_URL`, s.url])),
    },
  });
  await untilReady(proc, 60_000);
  return proc;
}

beforeAll(async () => {
  stack = await startInProcessStack({ sagas: false });
  admin = await signIn(stack, 'admin@mercado.dev', 'admin-password');
  gateways.push(...(await Promise.all([startGatewayProcess(0), startGatewayProcess(1)])));
}, 180_000);

afterAll(async () => {
  for (const client of clients) await client.dispose();
  await Promise.all(gateways.map((g) => g.stop(10_000)));
  await stack?.close();
  await deleteRateLimitKeys(redisUrl, rateLimitPrefix);
});

const client = (url: string) => {
  const c = wsClient(url);
  clients.push(c);
  return c;
};

async function setPrice(id: string, priceCents: number) {
  const { body } = await postGraphQL(stack.gateway.url, `mutation { updateProductPrice(id: "${id}", priceCents: ${priceCents}) { priceCents } }`, {}, admin);
  expect(body.errors).toBeUndefined();
}

describe('subscriptions on two gateway processes', () => {
  it("each gateway delivers an event to its own subscribers", async () => {
    const id = seedId('product:KIT-001');
    const [one, two] = gateways.map((g) => followWs(client(g.url), PRODUCT, { id }));
    await until('both first messages', () => one!.messages.length === 1 && two!.messages.length === 1);
    await setPrice(id, 4242);
    for (const followed of [one!, two!]) {
      await until('the price change', () => followed.messages.some((m) => m.data?.productUpdated.priceCents === 4242));
    }
    one!.stop();
    two!.stop();
  });

  it('a gateway that stops ends its subscriptions; started again, a new subscription begins with the current state', async () => {
    const id = seedId('product:KIT-002');
    const old = gateways[1]!;
    const followed = followWs(client(old.url), PRODUCT, { id });
    await until('the first message', () => followed.messages.length === 1);
    const exit = await old.stop(20_000);
    expect(exit.code).toBe(0);
    await until('ended', () => followed.done);
    expect(followed.messages.at(-1)?.errors?.[0]?.extensions?.code).toBe('SERVICE_UNAVAILABLE');

    await setPrice(id, 3131); // while that gateway is away
    const restarted = await startGatewayProcess(1, old.ports.port);
    gateways[1] = restarted;
    const again = followWs(client(restarted.url), PRODUCT, { id });
    await until('the current state', () => again.messages.length === 1);
    expect(again.messages[0]!.data!.productUpdated.priceCents).toBe(3131);
    again.stop();
  });
});
