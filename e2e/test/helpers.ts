import { postGraphQL } from '@mercado/service-kit/testing';
import type { InProcessStack } from '../src/index.ts';

/** Signs in through the gateway and returns the bearer header for that user. */
export async function signIn(stack: InProcessStack, email: string, password: string): Promise<Record<string, string>> {
  const { body } = await postGraphQL<{ login: { token: string } }>(
    stack.gateway.url,
    'mutation($email: String!, $password: String!) { login(email: $email, password: $password) { token } }',
    { email, password },
  );
  if (!body.data?.login) throw new Error(`login failed: ${JSON.stringify(body.errors)}`);
  return { authorization: `Bearer ${body.data.login.token}` };
}

/**
 * Statements per service that read data (Prisma also logs BEGIN/COMMIT and the like), leaving out
 * the saga orchestrator's own timers (deadlines and idle sagas, read from "Saga" every second or
 * so whatever the clients do).
 */
export function selectCounts(stack: InProcessStack): Record<string, number> {
  const timers = /FROM "Saga"/;
  return Object.fromEntries(Object.entries(stack.queries).map(([name, q]) => [name, q.filter((s) => /^\s*(select|with)\b/i.test(s) && !timers.test(s)).length]));
}
