import type { z } from 'zod';
import { badInput } from './errors.ts';

/** Validates input with a zod schema; the first problem becomes a BAD_USER_INPUT error naming the field. */
export function parseInput<T>(schema: z.ZodType<T>, input: unknown): T {
  const result = schema.safeParse(input);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    throw badInput(issue.message, issue.path.join('.') || undefined);
  }
  return result.data;
}
