import { defineConfig } from 'tsup';

export default defineConfig({
  entry: { index: 'src/index.ts' },
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'es2022',
  splitting: false,
  // createRequire(import.meta.url) finds onnxruntime-node's files: shimmed in the CJS build
  shims: true,
  // onnxruntime-node is a native addon: resolved at run time, never bundled.
  external: ['onnxruntime-node', '@sedseg/core', '@sedseg/onnx'],
});
