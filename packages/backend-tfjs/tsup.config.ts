import { defineConfig } from 'tsup';

export default defineConfig({
  entry: { index: 'src/index.ts' },
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'es2022',
  splitting: false,
  // platform.ts resolves the wasm files with createRequire(import.meta.url): shimmed in the CJS build
  shims: true,
  // tfjs packages stay external: the user's installed platform is used at run time.
  external: [/^@tensorflow\//, '@sedseg/core'],
});
