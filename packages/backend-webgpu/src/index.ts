// The browser backend: onnxruntime-web (WebGPU, wasm) running the SED stages traced by @sedseg/onnx.
export { WebOps, createWebOps, type WebOpsOptions, type WebDevice, type WebDeviceChoice, type OrtWebModule } from './web-ops.js';
export { probeWebGpu, classChunkFor, type GpuLimits, type GpuLike, type GpuAdapterLike, type GpuProbe } from './gpu-limits.js';
// Loading without node: downloads kept in the Cache API, class embeddings in IndexedDB.
export { fetchWeights, DEFAULT_WEIGHTS_CACHE, type FetchWeightsOptions } from './fetch-weights.js';
export { loadWebModel, type LoadWebModelOptions, type WebLoadProgress, type WebModelSource } from './load-web-model.js';
export { indexedDbClassEmbeddings } from './indexeddb-class-embeddings.js';
// SED from a `sedseg export` folder: the exported graphs run as written, no weights traced.
export { ExportedSedModel, loadExportedModel, type ExportFolder, type LoadExportedModelOptions } from './exported-model.js';
// Registered with core's backend registry on import.
export { webBackend } from './web-backend.js';
