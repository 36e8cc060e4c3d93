import type { FormattedExecutionResult, GraphQLFormattedError } from 'graphql';

/** What one run of a subscription's query gave. */
export type LiveResult = FormattedExecutionResult<Record<string, unknown>>;

/** An event about the followed aggregate, as much of it as the stream needs. */
export interface LiveEventNotice {
  /** `<source>.<Type>`: versions are compared per kind (a product's price and its stock are versioned apart). */
  key: string;
  version: number;
  /** The event's id: runs for the same event may be shared by subscribers asking the same query. */
  id?: string;
}

/** Error codes after which following is pointless: the stream ends with that result. */
const finalCodes = new Set(['NOT_FOUND', 'UNAUTHENTICATED', 'FORBIDDEN']);

/**
 * One subscriber's stream of results: the first one given, then one after each event that is
 * newer than the last of its kind (older or repeated versions are dropped, so events arriving
 * out of order never cause a push), each from a fresh run of the query.
 *
 * Runs are serialized: while one is in flight, any number of events make one more run after it
 * (a burst costs two runs, not one per event), and since each run starts after the previous one
 * ended, a result is never older than the one before it. A result equal to the last one pushed
 * is not pushed again. Results the subscriber has not read yet are replaced by newer ones, so a
 * subscriber that stops reading holds one result, never a backlog.
 */
export class LiveStream implements AsyncGenerator<LiveResult, undefined, unknown> {
  private readonly queue: LiveResult[] = [];
  /** Once set, the last result to deliver before the stream is done. */
  private final?: LiveResult;
  private done = false;
  private waiting?: (result: IteratorResult<LiveResult, undefined>) => void;
  private running = false;
  private again = false;
  /** The event the next run is for (undefined: a refresh of no event, never shared). */
  private trigger?: string;
  private lastPushed?: string;
  private readonly versions = new Map<string, number>();
  private cleanup: Array<() => void> = [];

  constructor(
    private readonly run: (trigger?: string) => Promise<LiveResult>,
    private readonly responseKey: string,
    first: LiveResult,
  ) {
    this.push(first);
  }

  /** Runs `fn` once when the stream ends, however it ends. */
  onEnd(fn: () => void): void {
    if (this.done && this.final === undefined && this.queue.length === 0) fn();
    else this.cleanup.push(fn);
  }

  /** An event about the aggregate: refresh unless its version is not newer than the last of its kind. */
  event(notice: LiveEventNotice): void {
    if (notice.version <= (this.versions.get(notice.key) ?? 0)) return;
    this.versions.set(notice.key, notice.version);
    this.refresh(notice.id);
  }

  /** Runs the query again (after the one in flight, if any); `trigger` names the event it is for. */
  refresh(trigger?: string): void {
    if (this.isEnding()) return;
    this.trigger = trigger;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    void this.loop();
  }

  /** Ends the stream with one last result (an error saying why). */
  end(errors: GraphQLFormattedError[]): void {
    if (this.isEnding()) return;
    this.queue.length = 0;
    this.final = { errors };
    this.deliver();
  }

  private isEnding(): boolean {
    return this.done || this.final !== undefined;
  }

  private async loop(): Promise<void> {
    try {
      do {
        this.again = false;
        const trigger = this.trigger;
        this.trigger = undefined;
        let result: LiveResult;
        try {
          result = await this.run(trigger);
        } catch {
          result = { errors: [{ message: 'The subscription could not be refreshed', extensions: { code: 'INTERNAL_SERVER_ERROR' } }] };
        }
        if (this.isEnding()) return;
        this.push(result);
      } while (this.again && !this.isEnding());
    } finally {
      this.running = false;
    }
  }

  private push(result: LiveResult): void {
    const value = result.data?.[this.responseKey];
    if (value === null || value === undefined) {
      const errors = result.errors ?? [];
      const final = errors.find((e) => finalCodes.has(String(e.extensions?.code)));
      if (final || errors.length === 0) {
        this.queue.length = 0;
        this.final = { data: null, errors: errors.length > 0 ? [...errors] : [{ message: 'Not found', extensions: { code: 'NOT_FOUND' } }] };
        return this.deliver();
      }
      // A failure that may pass (a subgraph down): say so, and keep following.
      this.queue.length = 0;
      this.queue.push({ data: null, errors: [...errors] });
      this.lastPushed = undefined;
      return this.deliver();
    }
    const text = JSON.stringify(result);
    if (text === this.lastPushed) return;
    this.lastPushed = text;
    // The newest state supersedes whatever the subscriber has not read yet.
    this.queue.length = 0;
    this.queue.push(result);
    this.deliver();
  }

  private deliver(): void {
    if (!this.waiting) return;
    const resolve = this.waiting;
    const next = this.take();
    if (next) {
      this.waiting = undefined;
      resolve(next);
    }
  }

  private take(): IteratorResult<LiveResult, undefined> | undefined {
    const queued = this.queue.shift();
    if (queued) return { value: queued, done: false };
    if (this.final) {
      const value = this.final;
      this.final = undefined;
      this.finish();
      return { value, done: false };
    }
    if (this.done) return { value: undefined, done: true };
    return undefined;
  }

  private finish(): void {
    if (this.done) return;
    this.done = true;
    const cleanup = this.cleanup;
    this.cleanup = [];
    for (const fn of cleanup) fn();
  }

  next(): Promise<IteratorResult<LiveResult, undefined>> {
    const next = this.take();
    if (next) return Promise.resolve(next);
    return new Promise((resolve) => (this.waiting = resolve));
  }

  return(): Promise<IteratorResult<LiveResult, undefined>> {
    this.queue.length = 0;
    this.final = undefined;
    this.finish();
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting?.({ value: undefined, done: true });
    return Promise.resolve({ value: undefined, done: true });
  }

  throw(error: unknown): Promise<IteratorResult<LiveResult, undefined>> {
    void this.return();
    return Promise.reject(error);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.return();
  }
}
