import { defineConfig } from 'vitest/config';

/**
 * Every workspace's vitest config. Integration tests talk to real PostgreSQL, RabbitMQ and
 * Redis, hence the generous hook timeouts; results also go to .vitest-result.json so that
 * `npm test` can print one total over all workspaces.
 */
export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 120_000,
    reporters: ['default', ['json', { outputFile: '.vitest-result.json' }]],
  },
});
