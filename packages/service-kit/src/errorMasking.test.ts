import { describe, expect, it } from 'vitest';
import { maskUnexpectedErrors } from './errorMasking.ts';
import { createLogger } from './logger.ts';

const mask = maskUnexpectedErrors(createLogger('test', 'silent'));

describe('error masking', () => {
  it('passes client errors through with only public extensions', () => {
    const out = mask({ message: 'first must be between 1 and 100', path: ['products'], extensions: { code: 'BAD_USER_INPUT', field: 'first', serviceName: 'catalog', stacktrace: ['at x'] } }, null);
    expect(out).toEqual({ message: 'first must be between 1 and 100', path: ['products'], extensions: { code: 'BAD_USER_INPUT', field: 'first' } });
  });

  it('hides unexpected errors behind a generic message', () => {
    const out = mask({ message: 'Invalid `prisma.product.findMany()` invocation: relation "Product" does not exist', extensions: { code: 'INTERNAL_SERVER_ERROR' } }, new Error('x'));
    expect(out).toEqual({ message: 'Internal server error', extensions: { code: 'INTERNAL_SERVER_ERROR' } });
  });

  it('says a service is unavailable without naming its address', () => {
    const out = mask({ message: 'request to http://10.0.0.7:4005/graphql failed, reason: connect ECONNREFUSED', path: ['product'] }, new Error('x'));
    expect(out.extensions?.code).toBe('SERVICE_UNAVAILABLE');
    expect(out.message).not.toMatch(/10\.0\.0\.7|http/);
  });

  it('tells the client to try again when the database cannot take the work right now (Prisma P2024/P2028, too many clients)', () => {
    for (const cause of [
      Object.assign(new Error('Transaction API error: Unable to start a transaction in the given time.'), { code: 'P2028' }),
      Object.assign(new Error('Timed out fetching a new connection from the connection pool.'), { code: 'P2024' }),
      new Error('Too many database connections opened: sorry, too many clients already'),
    ]) {
      const out = mask({ message: cause.message, path: ['addReview'] }, { originalError: cause });
      expect(out).toEqual({ message: 'The service is busy; try again shortly', path: ['addReview'], extensions: { code: 'SERVICE_UNAVAILABLE' } });
    }
  });
});
