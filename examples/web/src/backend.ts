/**
 * Everything the page asks of @sedseg/backend-webgpu, in one place: the onnxruntime-web operator
 * set (WebGPU or wasm), the weights download (Cache API) and the model load.
 */
import { createWebOps, fetchWeights, loadExportedModel, loadWebModel, type ExportedSedModel } from '@sedseg/backend-webgpu';
import vocabUrl from '@sedseg/core/bpe_simple_vocab_16e6.txt.gz?url';

export type DeviceChoice = 'webgpu' | 'wasm' | 'auto';

export type WebOps = Awaited<ReturnType<typeof createWebOps>>;
/** A model from its weights (stages traced here), or from a `sedseg export` folder (graphs as exported). */
export type WebModel = Awaited<ReturnType<typeof loadWebModel>> | ExportedSedModel;

/** A weights URL naming an export folder: ends with `/` or `manifest.json`. */
export const isExportFolder = (url: string): boolean => url.endsWith('/') || url.endsWith('manifest.json');

export function makeOps(device: DeviceChoice): Promise<WebOps> {
  // An explicit `webgpu` fails with the reason instead of quietly running on wasm; `auto` falls back.
  // onnxruntime-web finds its .wasm itself: Vite emits it into dist/assets (see vite.config.ts).
  return createWebOps({ device, fallback: device !== 'webgpu' });
}

export interface LoadRequest {
  /** URL or local file of the weights (.pth / .safetensors), or the URL of a `sedseg export` folder (ending with `/` or `manifest.json`). */
  weights: string | File;
  config?: unknown;
  device: DeviceChoice;
  onDownload(loaded: number, total: number | undefined): void;
  onLoadProgress(done: number, total: number): void;
}

export interface LoadedModel {
  model: WebModel;
  ops: WebOps;
  /** Milliseconds: weights download (0 for a local file) and building the model. */
  downloadMs: number;
  loadMs: number;
}

export async function loadModel(request: LoadRequest): Promise<LoadedModel> {
  let t = performance.now();
  if (typeof request.weights === 'string' && isExportFolder(request.weights)) {
    const folder = new URL(request.weights.replace(/manifest\.json$/, ''), document.baseURI).href;
    const ops = await makeOps(request.device);
    const model = await loadExportedModel(folder, {
      ops,
      vocabularyUrl: vocabUrl,
      onProgress: (p) => (p.phase === 'download' ? request.onDownload(p.loaded, p.total) : request.onLoadProgress(p.done, p.total)),
    });
    return { model, ops, downloadMs: 0, loadMs: performance.now() - t };
  }
  let source: string | File | Uint8Array = request.weights;
  if (typeof source === 'string') {
    source = await fetchWeights(new URL(source, document.baseURI).href, { onProgress: request.onDownload });
  }
  const downloadMs = performance.now() - t;
  t = performance.now();
  const ops = await makeOps(request.device);
  const model = await loadWebModel(source, {
    ops,
    vocabularyUrl: vocabUrl,
    ...(request.config !== undefined ? { config: request.config } : {}),
    onProgress: (p) => (p.phase === 'download' ? request.onDownload(p.loaded, p.total) : request.onLoadProgress(p.done, p.total)),
  });
  return { model, ops, downloadMs, loadMs: performance.now() - t };
}
