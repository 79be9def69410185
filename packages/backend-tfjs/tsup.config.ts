import { defineConfig } from 'tsup';

export default defineConfig({
  entry: { index: 'src/index.ts' },
  format: ['esm', 'cjs'],
  // tfjs-core's declarations use the global `Long` of @types/long (a dependency of tfjs-core)
  // without referencing it: a consumer whose tsconfig lists `types` and checks library
  // declarations (skipLibCheck: false) fails with "Cannot find name 'Long'" unless our
  // declarations pull it in.
  dts: { banner: '/// <reference types="long" />' },
  sourcemap: true,
  clean: true,
  target: 'es2022',
  splitting: false,
  // platform.ts resolves the wasm files with createRequire(import.meta.url): shimmed in the CJS build
  shims: true,
  // tfjs packages stay external: the user's installed platform is used at run time.
  external: [/^@tensorflow\//, '@sedseg/core'],
});
