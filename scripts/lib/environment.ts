import { stackFromEnvironment } from '@mercado/system';

/**
 * The copy of the system the scripts work on (STACK_NAME, PORT_OFFSET, HOST, POSTGRES_URL,
 * REDIS_URL, AMQP_URL); a bad variable stops the script naming it. Each service reads its own
 * variables itself.
 */
export function scriptStack() {
  try {
    return stackFromEnvironment();
  } catch (error) {
    console.error((error as Error).message);
    process.exit(2);
  }
}

/** A URL fit for printing: any password replaced. */
export function redact(url: string): string {
  const u = new URL(url);
  if (u.password) u.password = '***';
  return u.toString();
}
