import type { Logger } from './logger.ts';

/**
 * Runs the closers in order on SIGINT/SIGTERM, then exits. A second signal, or closers that
 * hang for 10 s, exit at once.
 */
export function closeOnSignals(logger: Logger, closers: Array<() => Promise<unknown>>): void {
  let closing = false;
  const shutdown = async (signal: string) => {
    if (closing) process.exit(1);
    closing = true;
    logger.info({ signal }, 'shutting down');
    setTimeout(() => process.exit(1), 10_000).unref();
    for (const close of closers) {
      await close().catch((err: unknown) => logger.error({ err }, 'error while closing'));
    }
    process.exit(0);
  };
  process.once('SIGINT', () => void shutdown('SIGINT'));
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
}
