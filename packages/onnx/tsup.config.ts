import { defineConfig } from 'tsup';

export default defineConfig({
  entry: { index: 'src/index.ts' },
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'es2022',
  splitting: false,
  // Runs in browsers and Node alike: no platform shims, and core stays a shared dependency.
  platform: 'neutral',
  external: ['@sedseg/core'],
});
