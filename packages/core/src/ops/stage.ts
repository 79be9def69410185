/**
 * Stages (DESIGN.md §2): the units of the SED graph that a compiling backend turns into one graph
 * each — image encoder, text encoder, decoder input, decoder layers. Between stages, core reads
 * values back to the host (category early rejection) and gathers the surviving classes.
 *
 * A stage is a pure function of named tensors to named tensors. The weights it uses are captured
 * from the model's parameters (`Ops.weight` tensors); every other tensor it needs is an input.
 * Eager backends simply run it (`runStage` below does that in an `ops.tidy`); a compiling backend
 * implements `Ops.runStage` and may trace `run` once per input signature and cache the result
 * (passing `completeOps(itsTracingOps)` as `ops`, so core's defaults fill what it leaves out).
 */
import { SedsegError } from '../errors.js';
import type { Ops } from './ops.js';

export interface StageInput {
  name: string;
  /**
   * The axis of this input whose length is the number of classes (or texts) in the batch, if
   * any: compiled graphs keep it as a dynamic dimension, so one graph serves every class count.
   * The stage must not depend on that length except through tensor shapes and `Ops.size`.
   */
  classAxis?: number;
  /** The axis holding the batch (images, or texts), if any: dynamic in compiled graphs like `classAxis`. */
  batchAxis?: number;
  /** Axes whose size is the token sequence length: dynamic in compiled graphs too. */
  lengthAxes?: readonly number[];
}

export interface Stage<T> {
  /** Unique for a model and configuration (e.g. `decoderLayer1`): names the compiled graph. */
  readonly name: string;
  readonly inputs: readonly StageInput[];
  readonly outputs: readonly string[];
  /** The computation. Must be synchronous and use only `ops`, its inputs and captured weights. */
  run(ops: Ops<T>, inputs: Readonly<Record<string, T>>): Record<string, T>;
}

/** Tensors by name, as stages take and give them. */
export type StageTensors<T> = Record<string, T>;

function checkNames<T>(stage: Stage<T>, given: Readonly<Record<string, T>>, expected: readonly string[], what: string): void {
  for (const name of expected) {
    if (!(name in given)) throw new SedsegError('E_ARGUMENT', `stage ${stage.name}: ${what} "${name}" is missing`);
  }
}

/**
 * Runs a stage on `ops`: through the backend's own `runStage` when it has one (compiling
 * backends), otherwise eagerly inside `ops.tidy`. The outputs are new tensors owned by the caller.
 */
export async function runStage<T>(ops: Ops<T>, stage: Stage<T>, inputs: Readonly<Record<string, T>>): Promise<StageTensors<T>> {
  checkNames(
    stage,
    inputs,
    stage.inputs.map((i) => i.name),
    'input',
  );
  const outputs = ops.runStage ? await ops.runStage(stage, inputs) : ops.tidy(() => stage.run(ops, inputs));
  checkNames(stage, outputs, stage.outputs, 'output');
  return outputs;
}
