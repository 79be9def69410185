import { defineConfig } from 'vitest/config';

// The browser tests drive real Chromium (tools/ensure-test-tools.mjs installs it): generous timeouts.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 180_000,
    hookTimeout: 120_000,
    pool: 'forks',
  },
});
