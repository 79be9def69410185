/**
 * Stage graphs built ahead of time (the files of a `sedseg export` folder) for `OnnxSessionOps`:
 * a stage whose name and input shapes match one of them runs that graph instead of being traced,
 * so the model's weights are not needed for it. A stage name may carry the outputs it asks for
 * (`decoderLayer0[features,corrGuidance]`): it matches the exported `decoderLayer0` when the
 * exported graph has those outputs (it may have more; they are computed and dropped).
 */
import type { Shape } from '@sedseg/core';
import type { ManifestStage } from './export-stages.js';

/** The graph bytes of a manifest entry's `file`. */
export type PrebuiltGraphReader = (file: string) => Promise<Uint8Array>;

/** The stage name without the requested outputs (`decoderLayer0[features]` → `decoderLayer0`). */
export function baseStageName(name: string): string {
  const i = name.indexOf('[');
  return i < 0 ? name : name.slice(0, i);
}

/** Whether a real shape fits manifest dims (numbers must be equal; a named or unknown dim fits any size). */
function fits(shape: Shape, dims: readonly (number | string | null)[]): boolean {
  return shape.length === dims.length && dims.every((d, i) => typeof d !== 'number' || d === shape[i]);
}

export class PrebuiltStages {
  private readonly byName = new Map<string, ManifestStage[]>();

  /** `stages`: manifest entries (e.g. every resolution's stages of an export); `read` fetches their files. */
  constructor(
    stages: readonly ManifestStage[],
    readonly read: PrebuiltGraphReader,
  ) {
    for (const s of stages) {
      const list = this.byName.get(s.name) ?? [];
      list.push(s);
      this.byName.set(s.name, list);
    }
  }

  /** Names of the stages held (each may exist for several input sizes). */
  get names(): string[] {
    return [...this.byName.keys()];
  }

  /** The entry that runs a stage called `name` with these input shapes and outputs, if any. */
  find(name: string, inputShapes: Readonly<Record<string, Shape>>, outputs: readonly string[]): ManifestStage | undefined {
    return this.byName
      .get(baseStageName(name))
      ?.find(
        (s) =>
          s.inputs.length === Object.keys(inputShapes).length &&
          s.inputs.every((i) => inputShapes[i.name] !== undefined && fits(inputShapes[i.name]!, i.dims)) &&
          outputs.every((o) => s.outputs.some((v) => v.name === o)),
      );
  }
}
