#!/usr/bin/env node
// The `sedseg` command. A committed shim rather than dist/cli.js itself, so that npm links the
// command when a checkout is installed (npm ci) before it is built (npm run build).
import { existsSync } from 'node:fs';
import { runWithMallocTuning, wantsMallocTuning } from './malloc-tuning.js';

const cli = new URL('../dist/cli.js', import.meta.url);
if (!existsSync(cli)) {
  process.stderr.write('sedseg: the command is not built yet (packages/cli/dist/cli.js is missing): run "npm run build" in the sedseg checkout\n');
  process.exit(1);
}
if (wantsMallocTuning()) runWithMallocTuning();
else await import(cli.href);
