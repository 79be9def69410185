import { defineConfig } from 'vitest/config';

// One test run over every package (each package keeps its own vitest.config.ts).
export default defineConfig({
  test: {
    projects: ['packages/*'],
    reporters: ['default', './tools/summary-reporter.ts'],
  },
});
