import { z } from 'zod';
import { describe, expect, it } from 'vitest';
import { parseEnvironment } from './environment.ts';

describe('parseEnvironment', () => {
  const shape = { PORT: z.coerce.number().int().default(4000), DATABASE_URL: z.string().url() };

  it('applies defaults and coerces', () => {
    expect(parseEnvironment(shape, { PORT: '4010', DATABASE_URL: 'postgresql://x/y' })).toEqual({ PORT: 4010, DATABASE_URL: 'postgresql://x/y' });
  });

  it('names every bad variable', () => {
    expect(() => parseEnvironment(shape, { PORT: 'abc' })).toThrow(/PORT[\s\S]*DATABASE_URL/);
  });
});
