/**
 * The text tower's weights, loaded onto the backend only while they are needed. The CLIP text
 * encoder is a third of SED-B's weights (about 365 MB as float32), yet it runs only for class
 * names the class-embedding cache does not hold: a model whose classes are cached never needs
 * it, and a run with a fixed class list needs it once, before the first image. Keeping it out of
 * memory while the image encoder and decoder run lowers the peak of a segmentation by that much.
 *
 * At load the weights are read once to fingerprint them (the class-embedding cache key), and
 * dropped. When a class must be encoded they are read again from a freshly opened store, checked
 * against the fingerprint (a weights file changed meanwhile is refused, not silently mixed), and
 * uploaded; `release` frees them again.
 */
import { SedsegError } from '../errors.js';
import type { Ops } from '../ops/ops.js';
import type { WeightStore } from '../weights/weight-store.js';
import { WeightsFingerprint } from './classes/weights-fingerprint.js';
import { uploadParams, type ModelParams } from './model-params.js';

/** Opens the model's weights again (e.g. the checkpoint file by its path); the caller closes it. */
export type ReopenWeights = () => Promise<WeightStore>;

export class TextEncoderWeights<T> {
  private loaded: (ModelParams<T> & { dispose(): void }) | undefined;
  private loading: Promise<void> | undefined;
  private readonly keySet: ReadonlySet<string>;

  constructor(
    private readonly ops: Ops<T>,
    /** The text tower's keys, in storage order. */
    readonly keys: readonly string[],
    /** Fingerprint of these weights when the model was loaded. */
    private readonly digest: string,
    /** Where to read them from; undefined: they were uploaded at load and are never released. */
    private readonly reopen: ReopenWeights | undefined,
    /** Already uploaded at load with the other weights, which the model owns and frees (eager models). */
    uploaded?: ModelParams<T>,
  ) {
    this.keySet = new Set(keys);
    this.loaded = uploaded && { get: (name) => uploaded.get(name), has: (name) => uploaded.has(name), dispose() {} };
  }

  get isLoaded(): boolean {
    return this.loaded !== undefined;
  }

  /** Whether `release` can free them (they can be read again). */
  get releasable(): boolean {
    return this.reopen !== undefined;
  }

  has(name: string): boolean {
    return this.keySet.has(name);
  }

  get(name: string): T {
    if (this.loaded === undefined) {
      throw new SedsegError('E_ARGUMENT', `the text encoder's weights are not loaded (needed for "${name}"): await model.loadTextEncoder() first`);
    }
    return this.loaded.get(name);
  }

  /** Uploads the weights if they are not on the backend (concurrent calls share one load). */
  async load(): Promise<void> {
    if (this.loaded !== undefined) return;
    this.loading ??= this.readAndUpload().finally(() => {
      this.loading = undefined;
    });
    await this.loading;
  }

  private async readAndUpload(): Promise<void> {
    const store = await this.reopen!();
    try {
      const fingerprint = new WeightsFingerprint();
      const params = await uploadParams(
        this.ops,
        store,
        (name) => this.keySet.has(name),
        undefined,
        (name, values) => fingerprint.addTensor(name, store.info(name)!.shape, values),
      );
      const missing = this.keys.filter((k) => !params.has(k));
      if (missing.length > 0 || fingerprint.digest() !== this.digest) {
        params.dispose();
        throw new SedsegError(
          'E_KEY',
          `${store.source}: the text encoder's weights are not the ones the model was loaded with` +
            `${missing.length > 0 ? ` (missing: ${missing.slice(0, 3).join(', ')}${missing.length > 3 ? ', …' : ''})` : ' (the file changed since)'}; load the model again`,
        );
      }
      this.loaded = params;
    } finally {
      await store.close();
    }
  }

  /** Frees the uploaded weights (a later `load` reads them again). No-op when they cannot be read again. */
  release(): void {
    if (this.reopen === undefined || this.loaded === undefined) return;
    this.loaded.dispose();
    this.loaded = undefined;
  }

  /** Frees them for good (model disposal). */
  dispose(): void {
    this.loaded?.dispose();
    this.loaded = undefined;
  }
}
