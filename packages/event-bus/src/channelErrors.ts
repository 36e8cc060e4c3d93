import type { ChannelWrapper } from 'amqp-connection-manager';
import type { Logger } from 'pino';

/**
 * A channel wrapper emits 'error' when its setup, or re-attaching its consumers, fails on a new
 * channel, typically because the connection closed meanwhile ("Channel ended, no reply will be
 * forthcoming"); it sets the channel up again on the next connection. With no listener,
 * EventEmitter throws that error inside amqp-connection-manager's connect handler, whose promise
 * nobody holds: an unhandled rejection, which ends a service process (seen in CI in the e2e
 * events test, which closes every broker connection under load).
 */
export function logChannelErrors(channel: ChannelWrapper, logger: Logger, name: string): void {
  channel.on('error', (err: Error) => logger.warn({ err: err.message, channel: name }, 'broker channel setup failed; it is set up again on the next connection'));
}
