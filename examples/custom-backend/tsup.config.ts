import { defineConfig } from 'tsup';

// dist/index.js: what plugin.mjs imports (ESM only; @sedseg/core stays a runtime import, so the
// plugin shares the host's registry and types).
export default defineConfig({
  entry: { index: 'src/index.ts' },
  format: ['esm'],
  dts: false,
  sourcemap: true,
  clean: true,
  target: 'es2022',
  splitting: false,
  external: ['@sedseg/core'],
});
