import { describe, expect, it } from 'vitest';
import { LiveStream, type LiveResult } from './liveStream.ts';

/** A query whose answers the test releases one by one, counting the runs. */
function controlledQuery() {
  const pending: Array<(r: LiveResult) => void> = [];
  let runs = 0;
  return {
    run: () => {
      runs++;
      return new Promise<LiveResult>((resolve) => pending.push(resolve));
    },
    answer: (price: number) => pending.shift()!({ data: { productUpdated: { price } } }),
    fail: () => pending.shift()!({ data: null, errors: [{ message: 'catalog is down', extensions: { code: 'SERVICE_UNAVAILABLE' } }] }),
    get runs() {
      return runs;
    },
    get waiting() {
      return pending.length;
    },
  };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));
const price = (r: IteratorResult<LiveResult>) => (r.value?.data?.productUpdated as { price: number } | undefined)?.price;

describe('a live stream', () => {
  it('drops events not newer than the last of their kind, so out-of-order versions never cause a push', async () => {
    const query = controlledQuery();
    const stream = new LiveStream(query.run, 'productUpdated', { data: { productUpdated: { price: 1 } } });
    expect(price(await stream.next())).toBe(1);
    stream.event({ key: 'catalog.ProductPriceChanged', version: 5 });
    expect(query.runs).toBe(1);
    query.answer(5);
    expect(price(await stream.next())).toBe(5);
    stream.event({ key: 'catalog.ProductPriceChanged', version: 3 }); // late
    stream.event({ key: 'catalog.ProductPriceChanged', version: 5 }); // again
    expect(query.runs).toBe(1);
    // Versions are per kind: a stock event with a small version still counts.
    stream.event({ key: 'inventory.StockChanged', version: 2 });
    expect(query.runs).toBe(2);
    query.answer(5); // nothing changed that the subscriber selected: no push
    await tick();
    stream.event({ key: 'catalog.ProductPriceChanged', version: 6 });
    query.answer(6);
    expect(price(await stream.next())).toBe(6);
    await stream.return();
  });

  it('coalesces a burst: one run in flight and one after it, the newest state pushed', async () => {
    const query = controlledQuery();
    const stream = new LiveStream(query.run, 'productUpdated', { data: { productUpdated: { price: 1 } } });
    await stream.next();
    for (let v = 2; v <= 10; v++) stream.event({ key: 'catalog.ProductPriceChanged', version: v });
    expect(query.runs).toBe(1);
    query.answer(4);
    await tick();
    expect(query.runs).toBe(2);
    query.answer(10);
    await tick();
    expect(query.runs).toBe(2);
    // The subscriber read nothing meanwhile: it gets the newest state only.
    expect(price(await stream.next())).toBe(10);
    await stream.return();
  });

  it('ends with NOT_FOUND when the object is gone or not the subscriber\'s, and runs its clean-up once', async () => {
    const query = controlledQuery();
    let cleaned = 0;
    const stream = new LiveStream(query.run, 'orderUpdated', { data: { orderUpdated: null }, errors: [{ message: 'no', extensions: { code: 'NOT_FOUND' } }] });
    stream.onEnd(() => cleaned++);
    const first = await stream.next();
    expect(first.value?.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    expect((await stream.next()).done).toBe(true);
    await stream.return();
    expect(cleaned).toBe(1);
  });

  it('keeps following after a failure that may pass (a subgraph down), and ends on end()', async () => {
    const query = controlledQuery();
    const stream = new LiveStream(query.run, 'productUpdated', { data: { productUpdated: { price: 1 } } });
    await stream.next();
    stream.refresh();
    query.fail();
    expect((await stream.next()).value?.errors?.[0]?.extensions?.code).toBe('SERVICE_UNAVAILABLE');
    stream.refresh();
    query.answer(1);
    expect(price(await stream.next())).toBe(1);
    stream.end([{ message: 'expired', extensions: { code: 'UNAUTHENTICATED' } }]);
    expect((await stream.next()).value?.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect((await stream.next()).done).toBe(true);
  });
});
