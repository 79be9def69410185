import { defineConfig } from 'vite';

/**
 * onnxruntime-web's default browser build (`ort.bundle.min.mjs`) embeds its .mjs glue and finds
 * its WebAssembly binary with `new URL('ort-wasm-simd-threaded.jsep.wasm', import.meta.url)`,
 * which Vite copies into `dist/assets/` (hashed) and rewrites: nothing to copy by hand, no
 * `wasmPaths` to set. In `vite dev` it must not be pre-bundled, so that URL stays valid.
 */
export default defineConfig({
  base: './',
  optimizeDeps: { exclude: ['onnxruntime-web'] },
  build: { outDir: 'dist', target: 'es2022', chunkSizeWarningLimit: 4096 },
});
