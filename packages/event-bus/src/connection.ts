import amqp, { type AmqpConnectionManager } from 'amqp-connection-manager';
import type { Logger } from 'pino';

export type { AmqpConnectionManager };

/**
 * A broker connection that reconnects by itself (amqp-connection-manager): channels re-run
 * their setup (topology, consumers) after every reconnect, and publishes wait for it.
 */
export function connectToBroker(url: string, logger: Logger, name: string): AmqpConnectionManager {
  const connection = amqp.connect([url], {
    heartbeatIntervalInSeconds: 5,
    reconnectTimeInSeconds: 1,
    connectionOptions: { clientProperties: { connection_name: name } },
  });
  connection.on('connect', () => logger.info({ broker: redactUrl(url) }, 'connected to the broker'));
  connection.on('disconnect', ({ err }) => logger.warn({ err: err?.message }, 'broker connection lost; reconnecting'));
  connection.on('connectFailed', ({ err }) => logger.warn({ err: err?.message }, 'cannot reach the broker; retrying'));
  return connection;
}

function redactUrl(url: string): string {
  const u = new URL(url);
  if (u.password) u.password = '***';
  return u.toString();
}
