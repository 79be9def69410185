/**
 * A bounded, seeded fuzz run over the checkpoint readers: a few hundred mutations per format
 * (the `.pth` zip container, the `data.pkl` pickle inside it, safetensors). Every outcome must
 * be a success or a SedsegError with a one-line, bounded message — never another exception —
 * and every case must finish within a time budget (the hangs the fuzzing campaign found took
 * from 40 s to forever). Reads are capped (tensors in key order up to 1 MiB, plus the last
 * one) so the whole file runs in seconds.
 *
 * Failures name the format, case number and mutation; rerun with the same seed to reproduce.
 * The longer on-demand campaign is `tools/fuzz-checkpoints.mjs` (child processes with time and
 * memory caps, saves crashing inputs).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { openPth } from '../src/checkpoint/pth-reader.js';
import { openSafetensors, serializeSafetensors } from '../src/checkpoint/safetensors.js';
import { isSedsegError } from '../src/errors.js';
import { memorySource } from '../src/io/byte-source.js';
import { openZip } from '../src/io/zip-reader.js';
import type { HostTensor } from '../src/tensor/host-tensor.js';
import type { WeightStore } from '../src/weights/weight-store.js';
import { partsSource, writeZipParts, zipLayout, type ZipWriteEntry } from './helpers/zip-writer.js';

const TINY_PTH = fileURLToPath(new URL('../../../../shared/reference/tiny/model.pth', import.meta.url));

/** Per-case time budget: generous for a loaded CI machine, far below any of the hangs found. */
const CASE_BUDGET_MS = 3000;
/** Tensor bytes read per case (in key order), besides the last tensor. */
const READ_CAP_BYTES = 2 ** 20;

/** xorshift32: deterministic, seedable. */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 2 ** 32;
  };
}

type Rand = () => number;
const int = (r: Rand, n: number) => Math.floor(r() * n);
const INTERESTING_8 = [0x00, 0x01, 0x7f, 0x80, 0xff];
const INTERESTING_32 = [0, 1, 0x7fffffff, 0x80000000, 0xffffffff, 0xffff, 0x10000, 64, 1 << 20];

/** A file as byte arrays laid end to end: mutations splice views, never copy the whole file. */
type Parts = Uint8Array[];
const lengthOf = (parts: Parts) => parts.reduce((n, p) => n + p.length, 0);

function byteAt(parts: Parts, at: number): number {
  for (const p of parts) {
    if (at < p.length) return p[at]!;
    at -= p.length;
  }
  return 0;
}

/** `parts` with `remove` bytes at `at` replaced by `insert` (views of the old parts). */
function splice(parts: Parts, at: number, remove: number, insert: Uint8Array): Parts {
  const out: Parts = [];
  const end = at + remove;
  let pos = 0;
  let inserted = false;
  for (const p of parts) {
    const pEnd = pos + p.length;
    if (pos < at) out.push(p.subarray(0, Math.min(p.length, at - pos))); // before the cut
    if (!inserted && pEnd >= at) {
      out.push(insert);
      inserted = true;
    }
    if (pEnd > end) out.push(p.subarray(Math.max(0, end - pos))); // after the cut
    pos = pEnd;
  }
  if (!inserted) out.push(insert);
  return out.filter((p) => p.length > 0);
}

/** One random byte-level mutation inside [from, to); returns the result and a label. */
function mutateBytes(r: Rand, parts: Parts, from = 0, to = lengthOf(parts)): { parts: Parts; what: string } {
  const size = lengthOf(parts);
  const pick = () => Math.min(size, from + int(r, Math.max(1, to - from)));
  const at = pick();
  const bytesOf = (...b: number[]) => Uint8Array.from(b);
  switch (int(r, 9)) {
    case 0:
      return { parts: splice(parts, at, 1, bytesOf(byteAt(parts, at) ^ (1 << int(r, 8)))), what: `flip bit at ${at}` };
    case 1:
      return { parts: splice(parts, at, 1, bytesOf(int(r, 256))), what: `random byte at ${at}` };
    case 2:
      return { parts: splice(parts, at, 1, bytesOf(INTERESTING_8[int(r, INTERESTING_8.length)]!)), what: `interesting byte at ${at}` };
    case 3: {
      const v = INTERESTING_32[int(r, INTERESTING_32.length)]!;
      return { parts: splice(parts, at, 4, bytesOf(v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24)), what: `u32 ${v} at ${at}` };
    }
    case 4: {
      const n = 1 + int(r, 64);
      return { parts: splice(parts, at, n, new Uint8Array(0)), what: `delete ${n} at ${at}` };
    }
    case 5: {
      const n = 1 + int(r, 64);
      return {
        parts: splice(
          parts,
          at,
          0,
          Uint8Array.from({ length: n }, () => int(r, 256)),
        ),
        what: `insert ${n} at ${at}`,
      };
    }
    case 6: {
      const src = pick();
      const n = 1 + int(r, 256);
      const piece = Uint8Array.from({ length: Math.min(n, size - src) }, (_, i) => byteAt(parts, src + i));
      return { parts: splice(parts, at, 0, piece), what: `duplicate ${piece.length} from ${src} at ${at}` };
    }
    case 7:
      return { parts: splice(parts, at, size - at, new Uint8Array(0)), what: `truncate at ${at}` };
    default: {
      let out = parts;
      const n = 2 + int(r, 6);
      for (let i = 0; i < n; i++) out = splice(out, pick(), 1, bytesOf(int(r, 256)));
      return { parts: out, what: `${n} random bytes` };
    }
  }
}

interface Outcome {
  ok: boolean;
  error?: unknown;
  ms: number;
}

/** Opens and reads with the cap; returns success or the error, and how long it took. */
async function exercise(open: () => Promise<WeightStore>): Promise<Outcome> {
  const t0 = performance.now();
  try {
    const store = await open();
    const keys = store.keys();
    let bytes = 0;
    for (const key of keys) {
      const t = await store.read(key);
      bytes += t.data.byteLength;
      if (bytes > READ_CAP_BYTES) break;
    }
    if (keys.length > 0) await store.read(keys[keys.length - 1]!);
    await store.close();
    return { ok: true, ms: performance.now() - t0 };
  } catch (error) {
    return { ok: false, error, ms: performance.now() - t0 };
  }
}

/** Prints the outcome counts of each run when SEDSEG_FUZZ_VERBOSE is set. */
function report(format: string, tally: Record<string, number>): void {
  if (process.env.SEDSEG_FUZZ_VERBOSE) console.log(`fuzz ${format}: ${JSON.stringify(tally)}`);
}

function check(label: string, outcome: Outcome, tally: Record<string, number>): void {
  expect(outcome.ms, `${label}: took ${outcome.ms.toFixed(0)} ms`).toBeLessThan(CASE_BUDGET_MS);
  if (outcome.ok) {
    tally.ok = (tally.ok ?? 0) + 1;
    return;
  }
  const e = outcome.error;
  expect(isSedsegError(e), `${label}: not a SedsegError: ${e instanceof Error ? e.stack : String(e)}`).toBe(true);
  const err = e as Error & { code: string };
  expect(err.message, `${label}: multi-line message`).not.toMatch(/[\n\r]/);
  expect(err.message.length, `${label}: message of ${err.message.length} chars`).toBeLessThan(1000);
  tally[err.code] = (tally[err.code] ?? 0) + 1;
}

describe('fuzz: .pth zip container (tiny model.pth)', () => {
  it('200 seeded mutations: success or SedsegError, each within the time budget', async () => {
    const seed = readFileSync(TINY_PTH);
    const original = new Uint8Array(seed.buffer, seed.byteOffset, seed.byteLength);
    const layout = zipLayout(original);
    const file: Parts = [original];
    const pkl = layout.find((e) => e.name.endsWith('/data.pkl'))!;
    const cdStart = Math.min(...layout.map((e) => e.central));
    // Regions that hold structure: the central directory and end records, the data.pkl entry,
    // every local header, and (rarely) tensor data anywhere.
    const regions: Array<[number, number]> = [
      [cdStart, original.length],
      [pkl.local, pkl.data + pkl.compressedSize],
      ...layout.map((e): [number, number] => [e.local, e.data]),
    ];
    const r = rng(0x5eed0001);
    const tally: Record<string, number> = {};
    for (let n = 0; n < 200; n++) {
      const region = r() < 0.1 ? ([0, original.length] as [number, number]) : regions[r() < 0.5 ? int(r, 2) : int(r, regions.length)]!;
      let { parts, what } = mutateBytes(r, file, region[0], region[1]);
      if (r() < 0.3) {
        const second = mutateBytes(r, parts, region[0], Math.min(region[1], lengthOf(parts)));
        parts = second.parts;
        what += `, ${second.what}`;
      }
      check(`pth case ${n} (${what})`, await exercise(() => openPth(partsSource(parts, 'fuzz.pth'))), tally);
    }
    report('pth', tally);
    // Both kinds of outcome occur (the mutations are neither all fatal nor all harmless).
    expect(tally.ok ?? 0).toBeGreaterThan(0);
    expect(200 - (tally.ok ?? 0)).toBeGreaterThan(50);
  });
});

describe('fuzz: data.pkl inside a .pth', () => {
  it('200 seeded pickle mutations, rebuilt into a torch-style archive', async () => {
    const seed = readFileSync(TINY_PTH);
    const original = new Uint8Array(seed.buffer, seed.byteOffset, seed.byteLength);
    const zip = await openZip(memorySource(original));
    const entries: ZipWriteEntry[] = [];
    for (const e of zip.entries) entries.push({ name: e.name, data: await zip.readEntry(e), crc: e.crc32 });
    const pklIndex = entries.findIndex((e) => e.name.endsWith('/data.pkl'));
    const pickle = entries[pklIndex]!.data!;
    // Opcode snippets that stress the VM: deep MARK nesting, floods, big integers, memo games,
    // invalid UTF-8, dict self-reference, duplicate keys.
    const snippets: Array<[string, number[]]> = [
      ['MARK×2000', new Array<number>(2000).fill(0x28)],
      ['EMPTY_LIST×5000', new Array<number>(5000).fill(0x5d)],
      ['TUPLE×500', new Array<number>(500).fill(0x74)],
      ['LONG4 8 kB', [0x8b, 0x00, 0x20, 0x00, 0x00, ...new Array<number>(0x2000).fill(0x41)]],
      ['LONG1 255', [0x8a, 0xff, ...new Array<number>(255).fill(0x92)]],
      ['BINGET 0 ×100', new Array<number>(100).fill(0).flatMap(() => [0x68, 0x00])],
      ['bad UTF-8 key', [0x8c, 0x02, 0x77, 0xff]],
      ['self dict', [0x7d, 0x71, 0x00, 0x8c, 0x01, 0x73, 0x68, 0x00, 0x73]],
      ['DUP SETITEM', [0x8c, 0x01, 0x6b, 0x4e, 0x73, 0x8c, 0x01, 0x6b, 0x4e, 0x73]],
      ['STOP', [0x2e]],
      ['big FRAME', [0x95, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00]],
    ];
    const r = rng(0x5eed0002);
    const tally: Record<string, number> = {};
    for (let n = 0; n < 200; n++) {
      let parts: Parts;
      let what: string;
      if (r() < 0.3) {
        const [name, snippet] = snippets[int(r, snippets.length)]!;
        const at = int(r, pickle.length);
        parts = splice([pickle], at, 0, Uint8Array.from(snippet));
        what = `insert ${name} at ${at}`;
      } else {
        ({ parts, what } = mutateBytes(r, [pickle]));
      }
      const data = new Uint8Array(lengthOf(parts));
      let at = 0;
      for (const p of parts) {
        data.set(p, at);
        at += p.length;
      }
      // The storages are referenced, not copied (their CRCs were taken once above).
      const archive = writeZipParts(
        entries.map((e, i) => (i === pklIndex ? { name: e.name, data } : e)),
        { dataDescriptor: true },
      );
      check(`pickle case ${n} (${what})`, await exercise(() => openPth(partsSource(archive, 'fuzz.pth'))), tally);
    }
    report('pickle', tally);
    expect(tally.ok ?? 0).toBeGreaterThan(0);
    expect(200 - (tally.ok ?? 0)).toBeGreaterThan(50);
  });
});

describe('fuzz: safetensors', () => {
  const tensors: Array<[string, HostTensor]> = [
    ['w.f32', { dtype: 'float32', shape: [4, 3], data: new Float32Array(12).map((_, i) => i - 5.5) }],
    ['w.f16', { dtype: 'float16', shape: [5], data: new Uint16Array([0x3c00, 0x7e01, 0x8001, 0, 1]) }],
    ['labels', { dtype: 'int32', shape: [2, 2], data: new Int32Array([1, -1, 7, 0]) }],
    ['mask', { dtype: 'uint8', shape: [7], data: new Uint8Array([1, 0, 1, 1, 0, 0, 1]) }],
    ['empty', { dtype: 'int64', shape: [0, 2], data: new BigInt64Array(0) }],
    ['scalar', { dtype: 'float64', shape: [], data: new Float64Array([Math.PI]) }],
    ['flags', { dtype: 'bool', shape: [3], data: new Uint8Array([1, 0, 1]) }],
    ['bf', { dtype: 'bfloat16', shape: [2, 1], data: new Uint16Array([0x3f80, 0xc000]) }],
  ];
  const original = serializeSafetensors(tensors, { format: 'fuzz', note: 'x' });
  const headerEnd = 8 + Number(new DataView(original.buffer).getBigUint64(0, true));

  /** A structured mutation: edit the parsed header, re-serialize, keep the data area. */
  function mutateHeader(r: Rand): { parts: Parts; what: string } {
    const header = JSON.parse(new TextDecoder().decode(original.subarray(8, headerEnd))) as Record<string, Record<string, unknown>>;
    const names = Object.keys(header).filter((k) => k !== '__metadata__');
    const name = names[int(r, names.length)]!;
    const entry = header[name]!;
    // Deeply nested arrays are spliced into the JSON text (JSON.stringify would overflow).
    const DEEP = '"@@deep@@"';
    const deep = (): unknown => JSON.parse(DEEP);
    const choices: Array<[string, () => void]> = [
      ['offsets +1', () => ((entry.data_offsets as number[])[int(r, 2)]! += 1)],
      ['offsets -4', () => ((entry.data_offsets as number[])[int(r, 2)]! -= 4)],
      ['offsets swapped', () => (entry.data_offsets as number[]).reverse()],
      ['offsets huge', () => ((entry.data_offsets as number[])[1] = 2 ** 60)],
      ['offsets nested', () => (entry.data_offsets = deep())],
      ['shape nested', () => (entry.shape = deep())],
      ['shape dim +1', () => (entry.shape as number[]).push(1 + int(r, 3))],
      ['shape negative', () => ((entry.shape as number[])[0] = -1)],
      ['shape float', () => (entry.shape = [1.5])],
      ['shape huge', () => (entry.shape = [2 ** 40, 2 ** 40])],
      ['dtype swap', () => (entry.dtype = ['F32', 'F16', 'U8', 'I64', 'BOOL', 'C64', 7][int(r, 7)])],
      ['entry removed', () => delete header[name]],
      ['entry duplicated', () => (header[`${name}.copy`] = { ...entry })],
      ['metadata non-string', () => (header.__metadata__ = { k: [1, 2] } as unknown as Record<string, unknown>)],
      ['long name', () => (header['n'.repeat(200_000)] = entry)],
    ];
    const [what, apply] = choices[int(r, choices.length)]!;
    apply();
    const json = new TextEncoder().encode(JSON.stringify(header).replace(DEEP, `${'['.repeat(50_000)}${']'.repeat(50_000)}`));
    const bytes = new Uint8Array(8 + json.length + (original.length - headerEnd));
    new DataView(bytes.buffer).setBigUint64(0, BigInt(json.length), true);
    bytes.set(json, 8);
    bytes.set(original.subarray(headerEnd), 8 + json.length);
    return { parts: [bytes], what: `${what} (${name.slice(0, 20)})` };
  }

  it('300 seeded mutations of a small file: success or SedsegError, each within the time budget', async () => {
    const r = rng(0x5eed0003);
    const tally: Record<string, number> = {};
    for (let n = 0; n < 300; n++) {
      const kind = r();
      const { parts, what } =
        kind < 0.35 ? mutateHeader(r) : kind < 0.7 ? mutateBytes(r, [original], 0, headerEnd) : mutateBytes(r, [original], headerEnd, original.length);
      check(`safetensors case ${n} (${what})`, await exercise(() => openSafetensors(partsSource(parts, 'fuzz.safetensors'))), tally);
    }
    report('safetensors', tally);
    expect(tally.ok ?? 0).toBeGreaterThan(0);
    expect(300 - (tally.ok ?? 0)).toBeGreaterThan(100);
  });
});
