/**
 * Live events for the gateways' subscriptions, on the real broker: each process hears the events
 * of the aggregates its subscribers follow, binds only the routing keys they need, and tells them
 * to look again after its broker connection came back.
 */
import amqplib from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectToBroker, LiveEvents, newEvent, routingKeyOf, type IntegrationEvent, type LiveListener } from '../src/index.ts';
import { amqpUrl, brokerNamespace, closeBrokerConnections, silent } from './harness.ts';

const { names, prefix, cleanup } = brokerNamespace([]);
const connections = [connectToBroker(amqpUrl, silent, `${prefix}-live-a`), connectToBroker(amqpUrl, silent, `${prefix}-live-b`)];
const replicas = connections.map((connection) => new LiveEvents({ connection, names, logger: silent, owner: 'test' }));
let publisher: amqplib.ChannelModel;
let channel: amqplib.ConfirmChannel;

beforeAll(async () => {
  await Promise.all(replicas.map((r) => r.start()));
  publisher = await amqplib.connect(amqpUrl);
  channel = await publisher.createConfirmChannel();
  await channel.assertExchange(names.exchange, 'topic', { durable: true });
});

afterAll(async () => {
  await Promise.all(replicas.map((r) => r.stop()));
  await Promise.all(connections.map((c) => c.close()));
  await publisher?.close();
  await cleanup();
});

async function publish(event: IntegrationEvent): Promise<void> {
  channel.publish(names.exchange, routingKeyOf(event), Buffer.from(JSON.stringify(event)));
  await channel.waitForConfirms();
}

function recorder(): LiveListener & { events: IntegrationEvent[]; resyncs: number } {
  const r = { events: [] as IntegrationEvent[], resyncs: 0, event: (e: IntegrationEvent) => void r.events.push(e), resync: () => void r.resyncs++ };
  return r;
}

/**
 * Sends probes on `routingKey` about `aggregateId` until `listener` hears one (a binding takes
 * effect asynchronously), then a fence, and clears what it heard once the fence arrived: every
 * probe sent before it has arrived by then (one queue, in order).
 */
async function untilBound(routingKey: string, aggregateId: string, listener: ReturnType<typeof recorder>): Promise<void> {
  const [source, type] = routingKey.split('.') as [string, string];
  const deadline = Date.now() + 30_000;
  while (listener.events.length === 0) {
    if (Date.now() > deadline) throw new Error(`${routingKey} never bound`);
    await publish(newEvent(source, type, aggregateId, 1, { probe: true }));
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  await publish(newEvent(source, type, aggregateId, 1_000_000, { fence: true }));
  await until('the fence', () => listener.events.some((e) => e.version === 1_000_000));
  listener.events.length = 0;
}

async function until(what: string, check: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe('live events', () => {
  const [a, b] = replicas as [LiveEvents, LiveEvents];

  it('says when a new routing key is bound: an event published right after is heard', async () => {
    await until('connected', () => a.connected);
    const first = recorder();
    const stop = a.subscribe(['reviews.ReviewAdded'], 'product-9', first);
    await a.bound(['reviews.ReviewAdded']);
    await publish(newEvent('reviews', 'ReviewAdded', 'product-9', 1, { rating: 5 }));
    await until('the event published right after the binding', () => first.events.length === 1);
    stop();
  });

  it("gives each replica's subscribers the events of their own aggregates", async () => {
    await until('both connected', () => a.connected && b.connected);
    const onA = recorder();
    const onB = recorder();
    const stopA = a.subscribe(['catalog.ProductPriceChanged'], 'product-1', onA);
    const stopB = b.subscribe(['catalog.ProductPriceChanged', 'inventory.StockChanged'], 'product-2', onB);
    await untilBound('catalog.ProductPriceChanged', 'product-1', onA);
    await untilBound('catalog.ProductPriceChanged', 'product-2', onB);
    await untilBound('inventory.StockChanged', 'product-2', onB);
    await publish(newEvent('catalog', 'ProductPriceChanged', 'product-1', 2, { priceCents: 200 }));
    await publish(newEvent('inventory', 'StockChanged', 'product-2', 7, { available: 3 }));
    await publish(newEvent('inventory', 'StockChanged', 'product-3', 1, { available: 9 }));
    await until('delivered', () => onA.events.length >= 1 && onB.events.length >= 1);
    await publish(newEvent('catalog', 'ProductPriceChanged', 'product-2', 3, { priceCents: 300 })); // a last one: everything before it has arrived
    await until('the last one', () => onB.events.some((e) => e.version === 3));
    expect(onA.events.map((e) => [e.type, e.aggregateId, e.version])).toEqual([['ProductPriceChanged', 'product-1', 2]]);
    expect(onB.events.map((e) => [e.type, e.aggregateId, e.version])).toEqual([
      ['StockChanged', 'product-2', 7],
      ['ProductPriceChanged', 'product-2', 3],
    ]);
    stopA();
    stopB();
    expect(a.size + b.size).toBe(0);
  });

  it('unbinds a routing key when its last subscriber leaves: the replica receives nothing more of it', async () => {
    const listener = recorder();
    const stop = a.subscribe(['accounts.UserRegistered'], 'user-1', listener);
    await untilBound('accounts.UserRegistered', 'user-1', listener);
    stop();
    // Unbinding is asynchronous too: once a marker on a key still bound has arrived after a
    // message on the unbound key was sent, the unbound one would have arrived before it.
    const marker = recorder();
    const stopMarker = a.subscribe(['orders.OrderConfirmed'], 'marker', marker);
    await untilBound('orders.OrderConfirmed', 'marker', marker);
    const before = a.receivedCount;
    await publish(newEvent('accounts', 'UserRegistered', 'user-1', 2, {}));
    await publish(newEvent('orders', 'OrderConfirmed', 'marker', 2, {}));
    await until('marker', () => marker.events.some((e) => e.version === 2));
    expect(a.receivedCount - before).toBe(1);
    stopMarker();
  });

  it('tells its subscribers to look again when its broker connection comes back, and keeps delivering', async () => {
    const listener = recorder();
    const stop = b.subscribe(['catalog.ProductCreated'], 'product-9', listener);
    await untilBound('catalog.ProductCreated', 'product-9', listener);
    expect(await closeBrokerConnections(`${prefix}-live-b`)).toBe(1);
    await until('told to resync', () => listener.resyncs === 1);
    await untilBound('catalog.ProductCreated', 'product-9', listener); // bound again on the new connection
    stop();
  });
});
