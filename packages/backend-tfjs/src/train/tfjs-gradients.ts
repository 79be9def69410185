/**
 * Gradient functions for tfjs. `@tensorflow/tfjs-core` registers none by itself; the
 * `@tensorflow/tfjs` union package and `@tensorflow/tfjs-node[-gpu]` (which loads it) register
 * all of them in tfjs's global registry on import. Training needs them, inference does not.
 */
import { SedsegError } from '@sedseg/core';
import type { TfjsNamespace } from '../platform.js';

/** Kernels the SED training graph differentiates through (a sample: all come from one package). */
const NEEDED = ['Conv2D', 'DepthwiseConv2dNative', 'BatchMatMul', 'Softmax', 'GatherV2', 'Transpose', 'Sum'];

function missing(tf: TfjsNamespace): string[] {
  return NEEDED.filter((k) => tf.getGradient(k) === undefined);
}

/** Makes sure tfjs has its gradient functions, importing `@tensorflow/tfjs` when it lacks them. */
export async function ensureTfjsGradients(tf: TfjsNamespace): Promise<void> {
  if (missing(tf).length === 0) return;
  try {
    await import('@tensorflow/tfjs');
  } catch (e) {
    throw new SedsegError(
      'E_BACKEND',
      `training needs tfjs's gradient functions, which @tensorflow/tfjs-core alone does not register; install @tensorflow/tfjs (or @tensorflow/tfjs-node) (${(e as Error).message})`,
    );
  }
  const still = missing(tf);
  if (still.length > 0) {
    throw new SedsegError(
      'E_BACKEND',
      `tfjs has no gradient for ${still.join(', ')} after loading @tensorflow/tfjs (two different tfjs-core copies installed?)`,
    );
  }
}
