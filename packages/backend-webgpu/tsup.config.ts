import { defineConfig } from 'tsup';

export default defineConfig({
  entry: { index: 'src/index.ts' },
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'es2022',
  splitting: false,
  // Browsers first (Node runs it too, through onnxruntime-web's Node build): no platform shims.
  platform: 'neutral',
  // onnxruntime-web is resolved by the app's bundler (its browser or Node build), never bundled.
  external: ['onnxruntime-web', '@sedseg/core', '@sedseg/onnx'],
});
