import { GraphQLError } from 'graphql';

/**
 * Stable error codes that clients may branch on. Messages are for people; codes are the API.
 */
export const ErrorCode = {
  BAD_USER_INPUT: 'BAD_USER_INPUT',
  NOT_FOUND: 'NOT_FOUND',
  UNAUTHENTICATED: 'UNAUTHENTICATED',
  FORBIDDEN: 'FORBIDDEN',
  CONFLICT: 'CONFLICT',
  INTERNAL_SERVER_ERROR: 'INTERNAL_SERVER_ERROR',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export function graphQLError(code: ErrorCode, message: string, extra: Record<string, unknown> = {}): GraphQLError {
  return new GraphQLError(message, { extensions: { code, ...extra } });
}

export const badInput = (message: string, field?: string) =>
  graphQLError(ErrorCode.BAD_USER_INPUT, message, field ? { field } : {});
export const notFound = (what: string, id: string) => graphQLError(ErrorCode.NOT_FOUND, `${what} ${id} was not found`);
export const unauthenticated = (message = 'You must be signed in') => graphQLError(ErrorCode.UNAUTHENTICATED, message);
export const forbidden = (message = 'You are not allowed to do this') => graphQLError(ErrorCode.FORBIDDEN, message);
export const conflict = (message: string) => graphQLError(ErrorCode.CONFLICT, message);

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Ids are UUIDs; anything else is bad input, not a database error. */
export function isId(value: string): boolean {
  return uuidPattern.test(value);
}

export function assertId(value: string, field = 'id'): string {
  if (!isId(value)) throw badInput(`${field} "${value.slice(0, 64)}" is not a valid id`, field);
  return value.toLowerCase();
}
