import { defineConfig } from 'vitest/config';
import LongestFirstSequencer from './tools/longest-first-sequencer.js';

// One test run over every package (each package keeps its own vitest.config.ts).
export default defineConfig({
  test: {
    projects: ['packages/*', 'examples/*'],
    // The parity suites are CPU-bound and independent: use both cores of a CI machine.
    maxWorkers: 2,
    minWorkers: 1,
    reporters: ['default', './tools/summary-reporter.ts'],
    // the minutes-long files first, so that no worker runs one alone at the end
    sequence: { sequencer: LongestFirstSequencer },
  },
});
