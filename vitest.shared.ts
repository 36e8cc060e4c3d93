import { defineConfig } from 'vitest/config';

/**
 * Every workspace's vitest config. Integration tests talk to real PostgreSQL, RabbitMQ and
 * Redis, hence the generous timeouts (they are limits for a machine busy with other work, not
 * expectations: tests wait for conditions); results also go to .vitest-result.json so that
 * `npm test` can print one total over all workspaces.
 */
export default defineConfig({
  test: {
    testTimeout: 120_000,
    hookTimeout: 300_000,
    reporters: ['default', ['json', { outputFile: '.vitest-result.json' }]],
  },
});
