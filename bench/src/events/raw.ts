/**
 * The ceiling: plain amqplib on the same broker, with what the pipeline also pays for (a
 * durable quorum queue behind a topic exchange, persistent messages, publisher confirms, one
 * consumer acking each message) and nothing else (no database on either side).
 */
import { randomBytes } from 'node:crypto';
import amqplib from 'amqplib';

export interface RawOptions {
  amqpUrl: string;
  /** How long the publisher publishes; the rate counts until the consumer has had everything. */
  seconds: number;
  messageBytes: number;
  prefetch: number;
  /** Unconfirmed messages the publisher allows itself before it waits for confirms. */
  window: number;
  onProgress?: (consumed: number, published: number) => void;
}

export interface RawResult {
  published: number;
  consumed: number;
  seconds: number;
  msgsPerSec: number;
}

export async function measureRaw(opts: RawOptions): Promise<RawResult> {
  const name = `mercado-bench-${randomBytes(4).toString('hex')}.raw`;
  // Separate connections, as a producing and a consuming service would have.
  const publisherConnection = await amqplib.connect(opts.amqpUrl);
  const consumerConnection = await amqplib.connect(opts.amqpUrl);
  const admin = await publisherConnection.createChannel();
  try {
    await admin.assertExchange(name, 'topic', { durable: true });
    await admin.assertQueue(name, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
    await admin.bindQueue(name, name, 'bench.#');

    const consumer = await consumerConnection.createChannel();
    await consumer.prefetch(opts.prefetch);
    let consumed = 0;
    let lastConsumedAt = 0;
    let allConsumed: (() => void) | undefined;
    let expected = Infinity;
    await consumer.consume(name, (msg) => {
      if (!msg) return;
      consumer.ack(msg);
      consumed++;
      lastConsumedAt = performance.now();
      if (consumed >= expected) allConsumed?.();
    });

    const publisher = await publisherConnection.createConfirmChannel();
    const body = randomBytes(Math.ceil(opts.messageBytes / 2)).toString('hex').slice(0, opts.messageBytes);
    const content = Buffer.from(body);
    let inFlight = 0;
    let published = 0;
    let failed: Error | undefined;
    let room: (() => void) | undefined;
    const started = performance.now();
    const stopAt = started + opts.seconds * 1000;
    const progress = setInterval(() => opts.onProgress?.(consumed, published), 1000);
    try {
      while (performance.now() < stopAt) {
        if (failed) throw failed;
        if (inFlight >= opts.window) {
          await new Promise<void>((resolve) => (room = resolve));
          continue;
        }
        inFlight++;
        published++;
        const ok = publisher.publish(name, 'bench.ItemChanged', content, { persistent: true, contentType: 'application/json' }, (err) => {
          if (err) failed = err instanceof Error ? err : new Error(String(err));
          inFlight--;
          if (inFlight < opts.window / 2) room?.();
        });
        // The socket's buffer is full: let it drain rather than queue in memory.
        if (!ok) await new Promise<void>((resolve) => publisher.once('drain', resolve));
      }
      await publisher.waitForConfirms();
      if (failed) throw failed;
      expected = published;
      if (consumed < expected) {
        await new Promise<void>((resolve, reject) => {
          allConsumed = resolve;
          setTimeout(() => reject(new Error(`raw consumer got ${consumed} of ${expected} messages`)), 60_000).unref();
        });
      }
    } finally {
      clearInterval(progress);
    }
    const seconds = (lastConsumedAt - started) / 1000;
    return { published, consumed, seconds, msgsPerSec: consumed / seconds };
  } finally {
    await admin.deleteQueue(name).catch(() => {});
    await admin.deleteExchange(name).catch(() => {});
    await publisherConnection.close().catch(() => {});
    await consumerConnection.close().catch(() => {});
  }
}
