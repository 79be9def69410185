/**
 * Operator conformance: every member of `Ops` against the float64 host references, on small odd
 * shapes (primes), with broadcasting, negative axes, transposes, strides, padding, groups and
 * both bilinear corner rules; and a stage with a class axis run at two class counts (a compiling
 * backend must not bake the first one into its graph).
 *
 * Optional members are checked through `completeOps`: the backend's own implementation when it
 * has one, and core's default built from the backend's required primitives (named
 * `… (core default)`), so both what the model would call and the fallback are verified.
 */
import { completeOps, DEFAULTED_OPS, REQUIRED_OPS, type DefaultedOp } from '../ops/composites.js';
import type { BackendOps, Ops } from '../ops/ops.js';
import { runStage, type Stage } from '../ops/stage.js';
import * as R from './host-reference.js';
import { CheckFailure, CONFORMANCE_TOLERANCE, report, timed, type BackendFactory, type ConformanceReport, type ConformanceResult } from './report.js';

type T = unknown;

/** What a check gets: the operator set and helpers that build inputs and compare outputs. */
interface CheckContext {
  ops: Ops<T>;
  /** Random float32-representable values in [lo, hi) (seeded per check). */
  rand(shape: number[], lo?: number, hi?: number): R.Host;
  /** A backend tensor of host values (disposed when the check ends). */
  t(h: R.Host): T;
  /** Marks a backend tensor for disposal when the check ends; returns it. */
  keep<X extends T>(x: X): X;
  /** Checks `y`'s shape and values against `expected`; `what` names the case in the message. */
  expect(y: T, expected: R.Host, what: string): Promise<void>;
}

interface OperatorCheck {
  name: string;
  /**
   * Optional members the check exercises that have a core default: it runs on the backend's own
   * members and again on core's defaults.
   */
  defaulted?: readonly (DefaultedOp | 'runStage')[];
  run(ctx: CheckContext): Promise<void>;
}

const shapeText = (s: readonly number[]): string => `[${s.join(', ')}]`;

function fmt(v: number): string {
  return Number.isInteger(v) ? String(v) : Math.abs(v) >= 1e-3 && Math.abs(v) < 1e4 ? v.toPrecision(6) : v.toExponential(4);
}

/** Compares host values with the conformance tolerance; throws a one-line `CheckFailure`. */
export function expectValues(actual: ArrayLike<number>, expected: R.Host, what: string): void {
  if (actual.length !== expected.data.length) throw new CheckFailure(`${what}: ${actual.length} values, expected ${expected.data.length}`);
  let bad = 0;
  let worst = -1;
  let worstErr = 0;
  for (let i = 0; i < actual.length; i++) {
    const e = expected.data[i]!;
    const err = Math.abs(actual[i]! - e) / Math.max(1, Math.abs(e));
    if (!(err <= CONFORMANCE_TOLERANCE)) {
      bad++;
      const w = Number.isNaN(err) ? Infinity : err;
      if (worst < 0 || w > worstErr) {
        worst = i;
        worstErr = w;
      }
    }
  }
  if (bad > 0) {
    throw new CheckFailure(
      `${what}: ${bad} of ${actual.length} values off, worst at ${shapeText(R.unravel(worst, expected.shape))}: got ${fmt(actual[worst]!)}, expected ${fmt(expected.data[worst]!)}`,
    );
  }
}

const host = (data: ArrayLike<number>, shape: number[]): R.Host => ({ data: Float64Array.from(data), shape });

// ---- the checks ------------------------------------------------------------------------------

const BROADCAST_PAIRS: [number[], number[]][] = [
  [
    [3, 5, 7],
    [3, 5, 7],
  ],
  [
    [3, 5, 7],
    [5, 1],
  ],
  [
    [3, 1, 7],
    [1, 5, 1],
  ],
  [[7], [2, 3, 7]],
  [
    [2, 1, 5],
    [3, 1],
  ],
  [[3, 5, 7], [1]],
  [[1], [5, 3]],
];

function binaryCheck(name: 'add' | 'mul' | 'div', f: (a: number, b: number) => number): OperatorCheck {
  return {
    name: `${name} with broadcasting (rank-mismatched, size-1 axes on both sides)`,
    async run({ ops, rand, t, expect }) {
      for (const [sa, sb] of BROADCAST_PAIRS) {
        const a = rand(sa, -2, 2);
        const b = name === 'div' ? rand(sb, 0.5, 2) : rand(sb, -2, 2);
        await expect(ops[name](t(a), t(b)), R.binary(a, b, f), `${shapeText(sa)} ${name} ${shapeText(sb)}`);
      }
    },
  };
}

function unaryCheck(name: 'sqrt' | 'relu' | 'elu', f: (x: number) => number, lo: number, hi: number): OperatorCheck {
  return {
    name,
    async run({ ops, rand, t, expect }) {
      const x = rand([3, 5, 7], lo, hi);
      x.data[0] = 0;
      await expect(ops[name](t(x)), R.unary(x, f), `${name} of [3, 5, 7]`);
    },
  };
}

interface ConvCase {
  name: string;
  x: number[];
  w: number[];
  stride?: number;
  padding?: number;
  groups?: number;
  bias?: boolean;
}

const CONV_CASES: ConvCase[] = [
  { name: '3×3 padding 1 with bias', x: [2, 3, 7, 9], w: [5, 3, 3, 3], padding: 1, bias: true },
  { name: '3×3 stride 2 padding 1', x: [1, 3, 11, 9], w: [4, 3, 3, 3], stride: 2, padding: 1 },
  { name: '1×1 with bias', x: [1, 5, 7, 3], w: [3, 5, 1, 1], bias: true },
  { name: '4×4 stride 4 (patchify)', x: [1, 3, 16, 12], w: [5, 3, 4, 4], stride: 4, bias: true },
  { name: '2×2 stride 2', x: [1, 4, 10, 6], w: [3, 4, 2, 2], stride: 2 },
  { name: 'depthwise 7×7 padding 3', x: [2, 5, 11, 9], w: [5, 1, 7, 7], padding: 3, groups: 5, bias: true },
  { name: 'depthwise 3×3 stride 2 padding 1', x: [1, 3, 9, 7], w: [3, 1, 3, 3], stride: 2, padding: 1, groups: 3 },
  { name: 'depthwise 9×9 padding 4 on a smaller map', x: [1, 3, 5, 3], w: [3, 1, 9, 9], padding: 4, groups: 3, bias: true },
  { name: 'depthwise with channel multiplier 2', x: [1, 3, 7, 5], w: [6, 1, 3, 3], padding: 1, groups: 3 },
  { name: 'grouped (2 groups)', x: [1, 6, 7, 5], w: [4, 3, 3, 3], padding: 1, groups: 2, bias: true },
];

const CONV_TRANSPOSE_CASES: { name: string; x: number[]; w: number[]; stride: number; bias: boolean }[] = [
  { name: '2×2 stride 2 with bias', x: [2, 5, 3, 4], w: [5, 3, 2, 2], stride: 2, bias: true },
  { name: '3×3 stride 2 (overlapping)', x: [1, 3, 4, 5], w: [3, 2, 3, 3], stride: 2, bias: true },
  { name: '2×2 stride 1', x: [1, 3, 4, 4], w: [3, 2, 2, 2], stride: 1, bias: false },
];

const RESIZE_CASES: { x: number[]; size: [number, number]; up: boolean }[] = [
  { x: [1, 3, 5, 7], size: [11, 13], up: true },
  { x: [2, 2, 3, 3], size: [17, 5], up: true },
  { x: [1, 2, 23, 19], size: [7, 5], up: false },
  { x: [1, 2, 7, 5], size: [7, 5], up: false },
];

/** A stage whose only class-count dependence is through shapes and `sizeAsTensor`. */
function classAxisStage(w: T, b: T): Stage<T> {
  return {
    name: 'conformanceClassAxis',
    inputs: [{ name: 'x', classAxis: 1 }, { name: 'g' }],
    outputs: ['y', 'mean', 'flat'],
    run(o, i) {
      const y = o.linear(i.x!, w, b); // [1, T, 5, 4]
      const mean = o.div(o.sum(y, [1], true), o.sizeAsTensor(y, 1)); // [1, 1, 5, 4]
      const p = o.softmax(o.add(y, i.g!), 1); // over the classes
      const [n, t, h, c] = o.shape(y) as [number, number, number, number];
      const flat = o.reshape(o.mul(p, o.add(y, o.mulScalar(mean, -1))), [n, t, h * c]);
      return { y, mean, flat };
    },
  };
}

const CHECKS: OperatorCheck[] = [
  {
    name: 'constant, read and shape',
    async run({ ops, keep }) {
      const values = [1.5, -2, 3.25, 4, 5, 6e-8, -7, 8, 9.5, 10, 11, -12.125, 13, 14, 1e6];
      for (const shape of [[3, 5], [15], [1, 3, 1, 5]]) {
        const x = keep(ops.constant(Float32Array.from(values), shape, 'conformance'));
        if (shapeText(ops.shape(x)) !== shapeText(shape)) throw new CheckFailure(`shape ${shapeText(ops.shape(x))}, expected ${shapeText(shape)}`);
        const got = await ops.read(x);
        if (!(got instanceof Float32Array)) throw new CheckFailure(`read gave ${Object.prototype.toString.call(got)}, expected a Float32Array`);
        if (got.length !== values.length || got.some((v, i) => v !== Math.fround(values[i]!)))
          throw new CheckFailure(`read of ${shapeText(shape)} gave [${[...got].slice(0, 6).join(', ')}, …], expected the values given`);
      }
      const one = keep(ops.constant(Float32Array.of(2.5), [1]));
      if (shapeText(ops.shape(one)) !== '[1]' || (await ops.read(one))[0] !== 2.5) throw new CheckFailure('a [1] constant does not read back');
    },
  },
  binaryCheck('add', (a, b) => a + b),
  binaryCheck('mul', (a, b) => a * b),
  binaryCheck('div', (a, b) => a / b),
  unaryCheck('sqrt', Math.sqrt, 0, 9),
  unaryCheck('relu', R.relu64, -4, 4),
  unaryCheck('elu', R.elu64, -4, 4),
  {
    name: 'gelu (exact erf form, not the tanh approximation)',
    async run({ ops, t, expect }) {
      const n = 4001;
      const x = host(
        Array.from({ length: n }, (_, i) => Math.fround(-10 + (20 * i) / (n - 1))),
        [n],
      );
      await expect(ops.gelu(t(x)), R.unary(x, R.gelu64), 'gelu on [−10, 10]');
    },
  },
  {
    name: 'reshape',
    async run({ ops, rand, t, expect }) {
      const x = rand([2, 3, 35]);
      for (const shape of [[6, 5, 7], [210], [1, 210, 1], [7, 1, 30]])
        await expect(ops.reshape(t(x), shape), { data: x.data, shape }, `[2, 3, 35] to ${shapeText(shape)}`);
    },
  },
  {
    name: 'transpose (negative axes, size-1 axes)',
    async run({ ops, rand, t, expect }) {
      const x = rand([3, 5, 7, 2]);
      for (const perm of [
        [0, 2, 3, 1],
        [3, 2, 1, 0],
        [-1, 0, -3, 2],
        [1, 0, -1, -2],
        [0, 1, 2, 3],
      ]) {
        await expect(ops.transpose(t(x), perm), R.transpose(x, perm), `[3, 5, 7, 2] by [${perm.join(', ')}]`);
      }
      const y = rand([1, 7, 1, 3, 5]);
      for (const perm of [
        [0, 3, 4, 2, 1],
        [4, 1, 0, 3, 2],
      ])
        await expect(ops.transpose(t(y), perm), R.transpose(y, perm), `[1, 7, 1, 3, 5] by [${perm.join(', ')}]`);
    },
  },
  {
    name: 'concat (negative axes, unequal sizes)',
    async run({ ops, rand, t, expect }) {
      const a = rand([2, 3, 5]);
      const b = rand([2, 7, 5]);
      const c = rand([2, 1, 5]);
      await expect(ops.concat([t(a), t(b), t(c)], 1), R.concat([a, b, c], 1), 'axis 1');
      await expect(ops.concat([t(a), t(b)], -2), R.concat([a, b], -2), 'axis −2');
      const d = rand([2, 3, 2]);
      await expect(ops.concat([t(a), t(d), t(a)], -1), R.concat([a, d, a], -1), 'axis −1');
      const e = rand([3, 3, 5]);
      await expect(ops.concat([t(a), t(e)], 0), R.concat([a, e], 0), 'axis 0');
      await expect(ops.concat([t(a)], 0), a, 'one tensor');
    },
  },
  {
    name: 'gather (repeated indices, negative axes)',
    async run({ ops, rand, t, expect }) {
      const x = rand([5, 7, 3]);
      for (const axis of [0, 1, 2, -1, -2, -3]) {
        const n = x.shape[axis < 0 ? axis + 3 : axis]!;
        const idx = [4, 0, 0, 2, 4, 1].map((i) => i % n);
        await expect(ops.gather(t(x), Int32Array.from(idx), axis), R.gather(x, idx, axis), `axis ${axis}, indices [${idx.join(', ')}]`);
      }
    },
  },
  {
    name: 'sum (negative axes, several axes, keepDims)',
    async run({ ops, rand, t, expect }) {
      const x = rand([3, 5, 7]);
      for (const axes of [[0], [-1], [1, -1], [-2, 0], [0, 1, 2]]) {
        for (const keep of [false, true]) await expect(ops.sum(t(x), axes, keep), R.sum(x, axes, keep), `axes [${axes.join(', ')}]${keep ? ' keepDims' : ''}`);
      }
    },
  },
  {
    name: 'softmax (negative axes, large logits)',
    async run({ ops, rand, t, expect }) {
      const x = rand([3, 5, 7], -8, 8);
      for (const axis of [-1, 0, 1, -2]) await expect(ops.softmax(t(x), axis), R.softmax(x, axis), `axis ${axis}`);
      const big = rand([3, 5], 80, 100); // exp overflows float32 unless the maximum is subtracted
      await expect(ops.softmax(t(big), -1), R.softmax(big, -1), 'logits in [80, 100)');
    },
  },
  {
    name: 'matmul (transposeA / transposeB)',
    async run({ ops, rand, t, expect }) {
      for (const [sa, sb, tA, tB] of [
        [[3, 5], [5, 7], false, false],
        [[3, 5], [7, 5], false, true],
        [[5, 3], [5, 7], true, false],
        [[5, 3], [7, 5], true, true],
        [[2, 5, 3], [2, 7, 5], true, true],
      ] as [number[], number[], boolean, boolean][]) {
        const a = rand(sa);
        const b = rand(sb);
        await expect(
          ops.matmul(t(a), t(b), { transposeA: tA, transposeB: tB }),
          R.matmul(a, b, tA, tB),
          `${shapeText(sa)}${tA ? 'ᵀ' : ''} × ${shapeText(sb)}${tB ? 'ᵀ' : ''}`,
        );
      }
    },
  },
  {
    name: 'matmul batch broadcasting',
    async run({ ops, rand, t, expect }) {
      for (const [sa, sb, tB] of [
        [[2, 3, 5], [2, 5, 7], false],
        [[2, 1, 3, 5], [3, 5, 7], false],
        [[2, 3, 3, 5], [5, 7], false],
        [[3, 5], [2, 5, 7], false],
        [[1, 3, 3, 5], [2, 1, 7, 5], true],
      ] as [number[], number[], boolean][]) {
        const a = rand(sa);
        const b = rand(sb);
        await expect(ops.matmul(t(a), t(b), { transposeB: tB }), R.matmul(a, b, false, tB), `${shapeText(sa)} × ${shapeText(sb)}${tB ? 'ᵀ' : ''}`);
      }
    },
  },
  ...CONV_CASES.map(
    (c): OperatorCheck => ({
      name: `conv2d ${c.name}`,
      async run({ ops, rand, t, expect }) {
        const x = rand(c.x);
        const w = rand(c.w);
        const b = c.bias ? rand([c.w[0]!]) : undefined;
        const opts = { ...(c.stride ? { stride: c.stride } : {}), ...(c.padding ? { padding: c.padding } : {}), ...(c.groups ? { groups: c.groups } : {}) };
        await expect(
          ops.conv2d(t(x), t(w), b && t(b), opts),
          R.conv2d(x, w, b, c.stride ?? 1, c.padding ?? 0, c.groups ?? 1),
          `x ${shapeText(c.x)}, w ${shapeText(c.w)}`,
        );
      },
    }),
  ),
  ...CONV_TRANSPOSE_CASES.map(
    (c): OperatorCheck => ({
      name: `convTranspose2d ${c.name}`,
      async run({ ops, rand, t, expect }) {
        const x = rand(c.x);
        const w = rand(c.w);
        const b = c.bias ? rand([c.w[1]!]) : undefined;
        await expect(ops.convTranspose2d(t(x), t(w), b && t(b), c.stride), R.convTranspose2d(x, w, b, c.stride), `x ${shapeText(c.x)}, w ${shapeText(c.w)}`);
      },
    }),
  ),
  ...[true, false].flatMap((up) =>
    [false, true].map(
      (alignCorners): OperatorCheck => ({
        name: `resizeBilinear ${up ? 'up' : 'down'}, alignCorners ${alignCorners}`,
        async run({ ops, rand, t, expect }) {
          for (const c of RESIZE_CASES.filter((r) => r.up === up)) {
            const x = rand(c.x, -3, 3);
            await expect(
              ops.resizeBilinear(t(x), c.size, alignCorners),
              R.resizeBilinear(x, c.size[0], c.size[1], alignCorners),
              `${shapeText(c.x)} to ${c.size.join('×')}`,
            );
          }
        },
      }),
    ),
  ),
  {
    name: 'resizeBilinear to 1×1 (alignCorners false and true)',
    async run({ ops, rand, t, expect }) {
      const x = rand([1, 2, 5, 7], -3, 3);
      for (const alignCorners of [false, true])
        await expect(
          ops.resizeBilinear(t(x), [1, 1], alignCorners),
          R.resizeBilinear(x, 1, 1, alignCorners),
          `[1, 2, 5, 7] to 1×1, alignCorners ${alignCorners}`,
        );
    },
  },

  // ---- optional members (checked on the backend's own and on core's defaults) -------------
  {
    name: 'tidy keeps returned tensors usable (one, a list, a record, nested)',
    defaulted: ['tidy'],
    async run({ ops, rand, t, keep, expect }) {
      const a = rand([3, 5]);
      const b = rand([5]);
      const x = t(a);
      const y = t(b);
      const one = keep(ops.tidy(() => ops.relu(ops.add(x, y))));
      await expect(
        one,
        R.unary(
          R.binary(a, b, (p, q) => p + q),
          R.relu64,
        ),
        'a returned tensor',
      );
      const list = ops.tidy(() => [ops.mul(x, y), ops.add(ops.mul(x, x), y)]);
      for (const z of list) keep(z);
      await expect(
        list[0]!,
        R.binary(a, b, (p, q) => p * q),
        'a returned list, first',
      );
      await expect(
        list[1]!,
        R.binary(
          R.binary(a, a, (p, q) => p * q),
          b,
          (p, q) => p + q,
        ),
        'a returned list, second',
      );
      const rec = ops.tidy(() => ({ s: ops.sum(x, [1], false), n: ops.tidy(() => ops.elu(ops.div(x, y))) }));
      keep(rec.s);
      keep(rec.n);
      await expect(rec.s, R.sum(a, [1], false), 'a returned record');
      await expect(
        rec.n,
        R.unary(
          R.binary(a, b, (p, q) => p / q),
          R.elu64,
        ),
        'the result of a nested tidy',
      );
    },
  },
  {
    name: 'dispose (one tensor, a list) leaves results computed from them usable',
    defaulted: ['dispose'],
    async run({ ops, rand, keep, expect }) {
      const a = rand([3, 5]);
      const x = ops.constant(R.f32(a), a.shape);
      const y = keep(ops.relu(x));
      const z = keep(ops.reshape(x, [5, 3]));
      const u = ops.constant(R.f32(a), a.shape);
      const v = ops.constant(R.f32(a), a.shape);
      const w = keep(ops.add(u, v));
      ops.dispose(x);
      ops.dispose([u, v]);
      await expect(y, R.unary(a, R.relu64), 'relu of a disposed input');
      await expect(z, { data: a.data, shape: [5, 3] }, 'reshape of a disposed input');
      await expect(
        w,
        R.binary(a, a, (p, q) => p + q),
        'sum of disposed inputs',
      );
      ops.dispose([]);
    },
  },
  {
    name: 'weight (or constant) tensors feed operators',
    async run({ ops, rand, t, keep, expect }) {
      const w = rand([7, 5]);
      const x = rand([3, 5]);
      const wt = keep(ops.weight ? ops.weight(R.f32(w), w.shape, 'conformance.weight') : ops.constant(R.f32(w), w.shape));
      await expect(ops.matmul(t(x), wt, { transposeB: true }), R.matmul(x, w, false, true), 'x × wᵀ');
      await expect(wt, w, 'the weight read back');
    },
  },
  {
    name: 'preferredClassChunk is absent or a positive integer',
    async run({ ops }) {
      const c = ops.preferredClassChunk;
      if (c !== undefined && !(Number.isInteger(c) && c > 0)) throw new CheckFailure(`preferredClassChunk is ${String(c)}`);
    },
  },
  {
    name: 'sizeAsTensor (negative axes)',
    defaulted: ['sizeAsTensor'],
    async run({ ops, rand, t, expect }) {
      const x = t(rand([3, 5, 7]));
      for (const [axis, n] of [
        [0, 3],
        [1, 5],
        [-1, 7],
        [-3, 3],
      ] as const)
        await expect(ops.sizeAsTensor(x, axis), host([n], [1]), `axis ${axis} of [3, 5, 7]`);
    },
  },
  {
    name: 'mulScalar and addScalar',
    defaulted: ['mulScalar', 'addScalar'],
    async run({ ops, rand, t, expect }) {
      const x = rand([3, 5, 7], -4, 4);
      await expect(
        ops.mulScalar(t(x), 0.3),
        R.unary(x, (v) => v * Math.fround(0.3)),
        'x · 0.3',
      );
      await expect(
        ops.addScalar(t(x), -1.7),
        R.unary(x, (v) => v + Math.fround(-1.7)),
        'x + (−1.7)',
      );
    },
  },
  {
    name: 'linear with and without bias',
    defaulted: ['linear'],
    async run({ ops, rand, t, expect }) {
      const w = rand([7, 5]);
      const b = rand([7]);
      for (const xs of [[5], [3, 5], [2, 3, 5]]) {
        const x = rand(xs);
        await expect(ops.linear(t(x), t(w), t(b)), R.linear(x, w, b), `x ${shapeText(xs)} with bias`);
        await expect(ops.linear(t(x), t(w)), R.linear(x, w), `x ${shapeText(xs)} without bias`);
      }
    },
  },
  {
    name: 'broadcastTo',
    defaulted: ['broadcastTo'],
    async run({ ops, rand, t, expect }) {
      for (const [from, to] of [
        [
          [3, 1],
          [2, 3, 5],
        ],
        [
          [1, 5, 1, 1],
          [2, 5, 3, 7],
        ],
        [[7], [3, 7]],
        [
          [3, 5],
          [3, 5],
        ],
      ] as [number[], number[]][]) {
        const x = rand(from);
        await expect(ops.broadcastTo(t(x), to), R.broadcastTo(x, to), `${shapeText(from)} to ${shapeText(to)}`);
      }
    },
  },
  {
    name: 'layerNorm over the last axis',
    defaulted: ['layerNorm'],
    async run({ ops, rand, t, expect }) {
      const w = rand([13]);
      const b = rand([13]);
      const x = rand([2, 3, 5, 13], -3, 3);
      await expect(ops.layerNorm(t(x), t(w), t(b), 1e-6), R.layerNorm(x, w, b, 1e-6), 'eps 1e-6');
      await expect(ops.layerNorm(t(x), t(w), t(b), 1e-5), R.layerNorm(x, w, b, 1e-5), 'eps 1e-5');
      const off = rand([3, 13], 99, 101);
      await expect(ops.layerNorm(t(off), t(w), t(b), 1e-6), R.layerNorm(off, w, b, 1e-6), 'values near 100');
    },
  },
  {
    name: 'groupNorm on NCHW',
    defaulted: ['groupNorm'],
    async run({ ops, rand, t, expect }) {
      const x = rand([2, 6, 5, 7], -3, 3);
      const w = rand([6]);
      const b = rand([6]);
      for (const g of [1, 2, 3, 6]) await expect(ops.groupNorm(t(x), g, t(w), t(b), 1e-5), R.groupNorm(x, g, w, b, 1e-5), `${g} groups`);
    },
  },
  {
    name: 'avgPool2d (window = stride, remainder dropped)',
    defaulted: ['avgPool2d'],
    async run({ ops, rand, t, expect }) {
      for (const [shape, k] of [
        [[2, 3, 8, 6], 2],
        [[1, 2, 7, 8], 3],
        [[1, 3, 5, 5], 1],
      ] as [number[], number][]) {
        const x = rand(shape);
        await expect(ops.avgPool2d(t(x), k), R.avgPool2d(x, k), `${shapeText(shape)}, k ${k}`);
      }
    },
  },
  {
    name: 'runStage with a class axis: 3 classes, then 5 (dynamic class counts)',
    defaulted: ['runStage', 'sizeAsTensor'],
    async run({ ops, rand, t, keep, expect }) {
      const W = rand([4, 3]);
      const B = rand([4]);
      const make = (h: R.Host, name: string): T => keep(ops.weight ? ops.weight(R.f32(h), h.shape, name) : ops.constant(R.f32(h), h.shape, name));
      const stage = classAxisStage(make(W, 'conformance.proj.weight'), make(B, 'conformance.proj.bias'));
      const g = rand([1, 1, 5, 4]);
      for (const classes of [3, 5]) {
        const x = rand([1, classes, 5, 3]);
        const out = await runStage(ops, stage, { x: t(x), g: t(g) });
        for (const v of Object.values(out)) keep(v);
        const y = R.linear(x, W, B);
        const mean = R.unary(R.sum(y, [1], true), (v) => v / classes);
        const p = R.softmax(
          R.binary(y, g, (a, b) => a + b),
          1,
        );
        const flat = R.binary(
          p,
          R.binary(y, mean, (a, b) => a - b),
          (a, b) => a * b,
        );
        await expect(out.y!, y, `${classes} classes: y`);
        await expect(out.mean!, mean, `${classes} classes: mean over the classes`);
        await expect(out.flat!, { data: flat.data, shape: [1, classes, 20] }, `${classes} classes: softmax over the classes, reshaped`);
      }
    },
  },
];

/** The names of every operator check, in the order they run (core-default variants not listed). */
export const OPERATOR_CHECK_NAMES: readonly string[] = CHECKS.map((c) => c.name);

/** Which `Ops` members the checks cover (every required and optional member). */
export const CHECKED_MEMBERS: readonly (keyof Ops)[] = [...REQUIRED_OPS, ...DEFAULTED_OPS, 'weight', 'runStage', 'preferredClassChunk'];

/** The backend's required members (and `weight`), without its optional ones: completeOps fills in core's defaults. */
function requiredOnly<X>(backend: BackendOps<X>): BackendOps<X> {
  const own = backend as unknown as Record<string, unknown>;
  const out: Record<string, unknown> = { name: backend.name };
  for (const m of [...REQUIRED_OPS, 'weight']) {
    const f = own[m];
    if (typeof f === 'function') out[m] = (f as (...a: unknown[]) => unknown).bind(backend);
  }
  if (backend.preferredClassChunk !== undefined) out.preferredClassChunk = backend.preferredClassChunk;
  return out as unknown as BackendOps<X>;
}

const SEED = 0x5ed5e6;

function seedOf(name: string): number {
  let h = SEED;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

async function runCheck(ops: Ops<T>, check: OperatorCheck, name: string): Promise<ConformanceResult> {
  const r = R.rng(seedOf(check.name));
  const created: T[] = [];
  const keep = <X extends T>(x: X): X => {
    created.push(x);
    return x;
  };
  const ctx: CheckContext = {
    ops,
    rand: (shape, lo = -1, hi = 1) => R.rand(r, shape, lo, hi),
    t: (h) => keep(ops.constant(R.f32(h), h.shape)),
    keep,
    async expect(y, expected, what) {
      keep(y);
      const shape = ops.shape(y);
      if (shapeText(shape) !== shapeText(expected.shape)) throw new CheckFailure(`${what}: shape ${shapeText(shape)}, expected ${shapeText(expected.shape)}`);
      const values = await ops.read(y);
      if (!(values instanceof Float32Array)) throw new CheckFailure(`${what}: read gave ${Object.prototype.toString.call(values)}, expected a Float32Array`);
      expectValues(values, expected, what);
    },
  };
  const result = await timed('operators', name, () => check.run(ctx));
  // free what the check made (a dispose failure is reported by the dispose check, not here)
  try {
    ops.dispose(created);
  } catch {
    // ignore
  }
  return result;
}

export interface OperatorCheckOptions {
  /** Called with each result as soon as it is known. */
  onResult?(result: ConformanceResult): void;
  /** Runs only the checks whose name passes (core-default variants end in ` (core default)`). */
  filter?(name: string): boolean;
}

/**
 * Checks every operator of the backend `create` makes against exact host references (float64
 * loops); tolerance |actual − expected| ≤ 1e-4 · max(1, |expected|). Never throws for a backend
 * failure: each check becomes one result.
 */
export async function runOperatorChecks(create: BackendFactory, options: OperatorCheckOptions = {}): Promise<ConformanceReport> {
  const results: ConformanceResult[] = [];
  const emit = (r: ConformanceResult): void => {
    results.push(r);
    options.onResult?.(r);
  };
  let backend: BackendOps<T> | undefined;
  let own: Ops<T> | undefined;
  let defaults: Ops<T> | undefined;
  const started = await timed('operators', 'backend starts and has every required member', async () => {
    backend = (await create()) as BackendOps<T>;
    if (typeof backend !== 'object' || backend === null)
      throw new CheckFailure(`the factory returned ${backend === null ? 'null' : typeof backend}, expected the backend's operators`);
    own = completeOps(backend);
    defaults = completeOps(requiredOnly(backend));
  });
  emit(started);
  if (!started.ok || !backend || !own || !defaults) return report(results);

  const has = (m: string): boolean => typeof (backend as unknown as Record<string, unknown>)[m] === 'function';
  for (const check of CHECKS) {
    const variants: [Ops<T>, string][] = [];
    if (!check.defaulted) variants.push([own, check.name]);
    else {
      if (check.defaulted.some(has)) variants.push([own, check.name]);
      variants.push([defaults, `${check.name} (core default)`]);
    }
    for (const [ops, name] of variants) {
      if (options.filter && !options.filter(name)) continue;
      emit(await runCheck(ops, check, name));
    }
  }
  return report(results);
}
