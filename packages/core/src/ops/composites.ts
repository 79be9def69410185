/**
 * Core's default implementations of the optional operators (`OptionalOps`), built only from the
 * required primitives, and `completeOps`, which gives a backend's operator set every member the
 * model code calls. A backend overrides a default by implementing the member itself.
 *
 * The defaults are exact (same formulas as the PyTorch modules), not approximations; they cost
 * extra passes over memory that a fused kernel saves.
 */
import { SedsegError } from '../errors.js';
import { normalizeAxis, type BackendOps, type Ops } from './ops.js';

/** The optional members that have a default in core. */
export const DEFAULTED_OPS = [
  'tidy',
  'dispose',
  'sizeAsTensor',
  'mulScalar',
  'addScalar',
  'linear',
  'broadcastTo',
  'layerNorm',
  'groupNorm',
  'avgPool2d',
] as const;
export type DefaultedOp = (typeof DEFAULTED_OPS)[number];

function scalar<T>(ops: BackendOps<T>, s: number): T {
  return ops.constant(new Float32Array([s]), [1]);
}

/** Mean over the last axis (kept), as `sum` · 1/n. */
function meanLast<T>(ops: BackendOps<T>, x: T): T {
  const shape = ops.shape(x);
  return ops.mul(ops.sum(x, [shape.length - 1], true), scalar(ops, 1 / shape[shape.length - 1]!));
}

/** (x − mean) / sqrt(var + eps) over the last axis, biased variance (PyTorch's norms). */
function standardizeLast<T>(ops: BackendOps<T>, x: T, eps: number): T {
  const centred = ops.add(x, ops.mul(meanLast(ops, x), scalar(ops, -1)));
  const variance = meanLast(ops, ops.mul(centred, centred));
  return ops.div(centred, ops.sqrt(ops.add(variance, scalar(ops, eps))));
}

/** The defaults, each a function of the backend's primitives. */
export function defaultComposites<T>(ops: BackendOps<T>): Pick<Ops<T>, DefaultedOp> {
  return {
    tidy: <R>(fn: () => R): R => fn(),
    dispose: () => {},
    sizeAsTensor: (x, axis) => scalar(ops, ops.shape(x)[normalizeAxis(axis, ops.shape(x).length)]!),
    mulScalar: (x, s) => ops.mul(x, scalar(ops, s)),
    addScalar: (x, s) => ops.add(x, scalar(ops, s)),
    linear: (x, w, b) => {
      // matmul needs rank ≥ 2: a single vector [in] goes through as [1, in]
      const vector = ops.shape(x).length === 1;
      let y = ops.matmul(vector ? ops.reshape(x, [1, ops.shape(x)[0]!]) : x, w, { transposeB: true });
      if (vector) y = ops.reshape(y, [ops.shape(w)[0]!]);
      return b === undefined ? y : ops.add(y, b);
    },
    broadcastTo: (x, shape) => {
      const from = ops.shape(x);
      if (from.length > shape.length) throw new SedsegError('E_ARGUMENT', `broadcastTo: [${from.join(', ')}] has more axes than [${shape.join(', ')}]`);
      // Missing leading axes become size 1; each size-1 axis is repeated by gathering index 0.
      const padded: number[] = [...new Array<number>(shape.length - from.length).fill(1), ...from];
      let y = padded.length === from.length ? x : ops.reshape(x, padded);
      padded.forEach((size, axis) => {
        const target = shape[axis]!;
        if (size === target) return;
        if (size !== 1) throw new SedsegError('E_ARGUMENT', `broadcastTo: [${from.join(', ')}] cannot broadcast to [${shape.join(', ')}]`);
        y = ops.gather(y, new Int32Array(target), axis);
      });
      return y;
    },
    layerNorm: (x, w, b, eps) => ops.add(ops.mul(standardizeLast(ops, x, eps), w), b),
    groupNorm: (x, groups, w, b, eps) => {
      const shape = ops.shape(x) as readonly number[];
      const [n, ch] = shape as [number, number];
      if (shape.length !== 4 || ch % groups !== 0) throw new SedsegError('E_ARGUMENT', `groupNorm: [${shape.join(', ')}] does not split into ${groups} groups`);
      const rest = shape.slice(1).reduce((a, v) => a * v, 1) / groups;
      const normed = ops.reshape(standardizeLast(ops, ops.reshape(x, [n, groups, rest]), eps), shape);
      return ops.add(ops.mul(normed, ops.reshape(w, [1, ch, 1, 1])), ops.reshape(b, [1, ch, 1, 1]));
    },
    avgPool2d: (x, k) => {
      const ch = ops.shape(x)[1]!;
      const w = ops.constant(new Float32Array(ch * k * k).fill(1 / (k * k)), [ch, 1, k, k]);
      return ops.conv2d(x, w, undefined, { stride: k, groups: ch });
    },
  };
}

/** Members every backend must implement (functions), checked by `completeOps`. */
export const REQUIRED_OPS = [
  'constant',
  'read',
  'shape',
  'add',
  'mul',
  'div',
  'sqrt',
  'gelu',
  'relu',
  'elu',
  'reshape',
  'transpose',
  'concat',
  'gather',
  'sum',
  'softmax',
  'matmul',
  'conv2d',
  'convTranspose2d',
  'resizeBilinear',
] as const satisfies readonly (keyof BackendOps)[];

const completed = new WeakMap<object, Ops<unknown>>();

/**
 * The complete operator set for a backend: the backend itself when it implements every member,
 * otherwise an object whose methods are the backend's own (bound to it) or core's defaults.
 * Cached per backend object. Throws, naming them, when required members are missing.
 */
export function completeOps<T>(backend: BackendOps<T>): Ops<T> {
  const hit = completed.get(backend);
  if (hit) return hit as Ops<T>;
  const missing = REQUIRED_OPS.filter((m) => typeof (backend as unknown as Record<string, unknown>)[m] !== 'function');
  if (typeof backend.name !== 'string' || backend.name === '') missing.unshift('name' as never);
  if (missing.length > 0) {
    throw new SedsegError(
      'E_ARGUMENT',
      `backend ${typeof backend.name === 'string' && backend.name ? `"${backend.name}" ` : ''}does not implement ${missing.join(', ')} (required Ops members)`,
    );
  }
  const own = backend as unknown as Record<string, unknown>;
  let result: Ops<T>;
  if (DEFAULTED_OPS.every((m) => typeof own[m] === 'function')) {
    result = backend as Ops<T>;
  } else {
    const defaults = defaultComposites(backend) as unknown as Record<string, unknown>;
    const full: Record<string, unknown> = { name: backend.name };
    if (backend.preferredClassChunk !== undefined) full.preferredClassChunk = backend.preferredClassChunk;
    for (const m of [...REQUIRED_OPS, 'weight', 'runStage']) {
      const f = own[m];
      if (typeof f === 'function') full[m] = f.bind(backend);
    }
    for (const m of DEFAULTED_OPS) {
      const f = own[m];
      full[m] = typeof f === 'function' ? f.bind(backend) : defaults[m];
    }
    result = full as unknown as Ops<T>;
  }
  completed.set(backend, result as Ops<unknown>);
  return result;
}
