import { describe, expect, it } from 'vitest';
import { corsOrigins, parseGatewayEnvironment, queueDashboardEnabled, subgraphUrlOverrides } from './environment.ts';
import { developmentInternalTokenSecret } from '@mercado/service-kit';
import { developmentCorsOrigins } from './httpSecurity.ts';

describe('SUBGRAPH_<NAME>_URL', () => {
  it('maps variables to subgraph names and ignores everything else', () => {
    expect(subgraphUrlOverrides({ SUBGRAPH_CATALOG_URL: 'http://catalog:4002/graphql', SUBGRAPH_X_URL: undefined, PORT: 4000 })).toEqual({ catalog: 'http://catalog:4002/graphql' });
  });
});

const secret = { INTERNAL_TOKEN_SECRET: 's'.repeat(40) };

describe('gateway environment', () => {
  it('has documented defaults for every limit', () => {
    expect(parseGatewayEnvironment(secret)).toMatchObject({
      MAX_QUERY_DEPTH: 12,
      MAX_QUERY_ALIASES: 15,
      MAX_QUERY_TOKENS: 2000,
      MAX_BODY_BYTES: 102_400,
      SUBGRAPH_TIMEOUT_MS: 10_000,
      REDIS_URL: 'redis://127.0.0.1:6379',
      RATE_LIMIT_POINTS: 600,
      RATE_LIMIT_DURATION_SECONDS: 60,
    });
    expect(() => parseGatewayEnvironment({ ...secret, RATE_LIMIT_POINTS: '0' })).toThrow(/RATE_LIMIT_POINTS/);
  });

  it('refuses production with the development INTERNAL_TOKEN_SECRET', () => {
    expect(() => parseGatewayEnvironment({ NODE_ENV: 'production' })).toThrow(/INTERNAL_TOKEN_SECRET: required/);
    expect(() => parseGatewayEnvironment({ NODE_ENV: 'production', INTERNAL_TOKEN_SECRET: developmentInternalTokenSecret })).toThrow(/INTERNAL_TOKEN_SECRET is the old development default/);
    expect(parseGatewayEnvironment({ NODE_ENV: 'production', INTERNAL_TOKEN_SECRET: 'x'.repeat(40) }).NODE_ENV).toBe('production');
  });

  it('allows local origins in development and none in production unless CORS_ORIGINS says otherwise', () => {
    expect(corsOrigins({ NODE_ENV: 'development', CORS_ORIGINS: undefined })).toEqual(developmentCorsOrigins);
    expect(corsOrigins({ NODE_ENV: 'production', CORS_ORIGINS: undefined })).toEqual([]);
    expect(corsOrigins({ NODE_ENV: 'production', CORS_ORIGINS: 'https://shop.example, https://*.shop.example,' })).toEqual(['https://shop.example', 'https://*.shop.example']);
  });

  it('serves the queue dashboard in development, and in production only with ADMIN_DASHBOARD=on', () => {
    expect(queueDashboardEnabled(parseGatewayEnvironment(secret))).toBe(true);
    expect(queueDashboardEnabled(parseGatewayEnvironment({ ...secret, ADMIN_DASHBOARD: 'off' }))).toBe(false);
    const production = { NODE_ENV: 'production', INTERNAL_TOKEN_SECRET: 'x'.repeat(40) };
    expect(queueDashboardEnabled(parseGatewayEnvironment(production))).toBe(false);
    expect(queueDashboardEnabled(parseGatewayEnvironment({ ...production, ADMIN_DASHBOARD: 'on' }))).toBe(true);
    expect(() => parseGatewayEnvironment({ ...secret, ADMIN_DASHBOARD: 'yes' })).toThrow(/ADMIN_DASHBOARD/);
  });
});
