#!/usr/bin/env node
/**
 * On-demand fuzzing of the checkpoint readers of @sedseg/core (the built package), beyond the
 * bounded run in packages/core/test/fuzz-checkpoints.test.ts.
 *
 *   cd packages/core && npx tsup && cd ../..
 *   node tools/fuzz-checkpoints.mjs --iterations 2000 --seed 7 --out /tmp/sedseg-crashes
 *
 * Options:
 *   --iterations N      cases to run (default 200), spread over the formats
 *   --seed S            seed of the case generator (default 1); case i of seed S is always the
 *                       same input, so a report can be replayed
 *   --out DIR           folder for crashing inputs (required); created if missing
 *   --format F          pth | pickle | safetensors | all (default all): mutate the .pth zip
 *                       container, the data.pkl pickle inside it, or a small safetensors file
 *   --pth FILE          seed checkpoint (default ../shared/reference/tiny/model.pth beside the repo)
 *   --timeout-ms T      wall-clock cap per case (default 20000)
 *   --max-old-space-mb M  V8 heap cap per case (default 1024); the child's peak RSS is also
 *                       compared with 2×M (typed arrays live outside the V8 heap)
 *   --jobs J            cases run in parallel (default 2)
 *   --replay FILE --format F   run one saved input in this process and print the outcome
 *
 * Environment: SEDSEG_CORE_DIST=<folder> tests another build of packages/core/dist.
 *
 * Every case runs in its own child process (`node --max-old-space-size=M`, killed after T ms),
 * which opens the mutated file with openPth / openSafetensors and reads every tensor. A case
 * is fine when it succeeds or fails with a SedsegError whose message is one line of at most
 * 1000 characters. Anything else is a problem: `crash` (another exception), `hang` (timeout),
 * `oom` (the child ran out of memory or exceeded the RSS cap), `bad-message`. Each problem's
 * input is saved in --out as `<format>-s<seed>-c<case>.<ext>` with a `.json` beside it (the
 * mutation, the outcome, the child's stderr tail).
 *
 * Prints one JSON summary on stdout: {seed, iterations, elapsedSeconds, outcomes: {format:
 * {ok, E_CORRUPT, ...}}, problems: [{case, format, kind, mutation, file, detail}]}. Exit status
 * 1 when there are problems, 2 on bad arguments.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
// SEDSEG_CORE_DIST may point at another build (e.g. to compare before/after a change).
const DIST = resolve(process.env.SEDSEG_CORE_DIST ?? join(ROOT, 'packages/core/dist'));
const MAX_MESSAGE = 1000;

async function core() {
  try {
    return await import(pathToFileURL(join(DIST, 'index.js')).href);
  } catch (e) {
    throw new Error(`cannot load ${DIST}/index.js (build it: cd packages/core && npx tsup): ${e.message}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Child: open and read one file.

async function runCase(format, file) {
  const { openPth, openSafetensors, memorySource, isSedsegError } = await core();
  const bytes = new Uint8Array(readFileSync(file));
  const source = memorySource(bytes, `fuzz.${format === 'safetensors' ? 'safetensors' : 'pth'}`);
  try {
    const store = format === 'safetensors' ? await openSafetensors(source) : await openPth(source);
    let tensors = 0;
    for (const key of store.keys()) {
      await store.read(key);
      tensors++;
    }
    await store.close();
    return { outcome: 'ok', tensors };
  } catch (e) {
    if (isSedsegError(e)) return { outcome: 'error', code: e.code, message: e.message };
    return { outcome: 'crash', name: e?.name ?? typeof e, message: String(e?.message ?? e).slice(0, 2000), stack: String(e?.stack ?? '').slice(0, 4000) };
  }
}

async function child(format, file) {
  const result = await runCase(format, file);
  result.maxRssKb = process.resourceUsage().maxRSS;
  process.stdout.write(`${JSON.stringify(result)}\n`);
  process.exitCode = result.outcome === 'crash' ? 3 : 0;
}

// ---------------------------------------------------------------------------------------------
// Case generation (deterministic in seed and case number).

function rng(seed) {
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
const int = (r, n) => Math.floor(r() * n);
const INTERESTING_8 = [0x00, 0x01, 0x7f, 0x80, 0xff];
const INTERESTING_32 = [0, 1, 0x7fffffff, 0x80000000, 0xffffffff, 0xffff, 0x10000, 64, 1 << 20];

function splice(data, at, remove, insert) {
  const out = new Uint8Array(data.length - Math.min(remove, data.length - at) + insert.length);
  out.set(data.subarray(0, at));
  out.set(insert, at);
  out.set(data.subarray(Math.min(data.length, at + remove)), at + insert.length);
  return out;
}

/** One to four byte-level mutations inside [from, to). */
function mutateBytes(r, data, from = 0, to = data.length) {
  const labels = [];
  const rounds = 1 + (r() < 0.3 ? int(r, 4) : 0);
  for (let k = 0; k < rounds; k++) {
    const end = Math.min(to, data.length);
    const at = Math.min(data.length, from + int(r, Math.max(1, end - from)));
    switch (int(r, 9)) {
      case 0:
        data = splice(data, at, 1, [data[at] ^ (1 << int(r, 8))]);
        labels.push(`flip bit at ${at}`);
        break;
      case 1:
        data = splice(data, at, 1, [int(r, 256)]);
        labels.push(`random byte at ${at}`);
        break;
      case 2:
        data = splice(data, at, 1, [INTERESTING_8[int(r, INTERESTING_8.length)]]);
        labels.push(`interesting byte at ${at}`);
        break;
      case 3: {
        const v = INTERESTING_32[int(r, INTERESTING_32.length)];
        data = splice(data, at, 4, [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24]);
        labels.push(`u32 ${v} at ${at}`);
        break;
      }
      case 4: {
        const n = 1 + int(r, 256);
        data = splice(data, at, n, []);
        labels.push(`delete ${n} at ${at}`);
        break;
      }
      case 5: {
        const n = 1 + int(r, 256);
        data = splice(
          data,
          at,
          0,
          Array.from({ length: n }, () => int(r, 256)),
        );
        labels.push(`insert ${n} at ${at}`);
        break;
      }
      case 6: {
        const src = from + int(r, Math.max(1, end - from));
        const piece = data.slice(src, src + 1 + int(r, 4096));
        data = splice(data, at, 0, piece);
        labels.push(`duplicate ${piece.length} from ${src} at ${at}`);
        break;
      }
      case 7:
        data = data.slice(0, at);
        labels.push(`truncate at ${at}`);
        break;
      default: {
        const n = 2 + int(r, 30);
        data = data.slice();
        for (let i = 0; i < n; i++) data[from + int(r, Math.max(1, Math.min(end, data.length) - from))] = int(r, 256);
        labels.push(`${n} random bytes`);
      }
    }
  }
  return { bytes: data, mutation: labels.join(', ') };
}

// Pickle opcode snippets that stress the VM.
const SNIPPETS = [
  ['MARK×20000', new Array(20000).fill(0x28)],
  ['EMPTY_LIST×50000', new Array(50000).fill(0x5d)],
  ['EMPTY_DICT×20000', new Array(20000).fill(0x7d)],
  ['TUPLE×5000', new Array(5000).fill(0x74)],
  ['LONG4 64 kB', [0x8b, 0x00, 0x00, 0x01, 0x00, ...new Array(0x10000).fill(0x41)]],
  ['LONG1 255', [0x8a, 0xff, ...new Array(255).fill(0x92)]],
  ['INT 5000 digits', [0x49, ...new Array(5000).fill(0x37), 0x0a]],
  ['BINGET 0 ×1000', new Array(1000).fill(0).flatMap(() => [0x68, 0x00])],
  ['MEMOIZE×1000', new Array(1000).fill(0x94)],
  ['bad UTF-8 key', [0x8c, 0x02, 0x77, 0xff]],
  ['self dict', [0x7d, 0x71, 0x00, 0x8c, 0x01, 0x73, 0x68, 0x00, 0x73]],
  ['dup SETITEM', [0x8c, 0x01, 0x6b, 0x4e, 0x73, 0x8c, 0x01, 0x6b, 0x4e, 0x73]],
  ['STOP', [0x2e]],
  ['big FRAME', [0x95, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00]],
  ['huge BINUNICODE length', [0x58, 0xff, 0xff, 0xff, 0x7f]],
  ['GLOBAL os.system', [...Buffer.from('cos\nsystem\n')]],
  ['rebuild_from_type chain', [...Buffer.from('ctorch._tensor\n_rebuild_from_type_v2\nq\x00'), ...new Array(3000).fill([0x28, 0x68, 0x00, 0x4e]).flat()]],
];

/** A torch-style zip (stored entries, 64-byte aligned data, data descriptors). */
function writeZip(entries) {
  const chunks = [];
  let size = 0;
  const push = (b) => {
    chunks.push(b);
    size += b.length;
  };
  const header = (n) => {
    const b = new Uint8Array(n);
    return [b, new DataView(b.buffer)];
  };
  const central = [];
  for (const e of entries) {
    const name = Buffer.from(e.name);
    const crc = e.crc ?? crc32(e.data);
    const offset = size;
    const before = offset + 30 + name.length + 4;
    const pad = (64 - (before % 64)) % 64;
    const [h, v] = header(30 + name.length + 4 + pad);
    v.setUint32(0, 0x04034b50, true);
    v.setUint16(4, 20, true);
    v.setUint16(6, 0x0808, true);
    v.setUint16(26, name.length, true);
    v.setUint16(28, 4 + pad, true);
    h.set(name, 30);
    v.setUint16(30 + name.length, 0x4246, true);
    v.setUint16(32 + name.length, pad, true);
    push(h);
    push(e.data);
    const [dd, dv] = header(16);
    dv.setUint32(0, 0x08074b50, true);
    dv.setUint32(4, crc, true);
    dv.setUint32(8, e.data.length, true);
    dv.setUint32(12, e.data.length, true);
    push(dd);
    central.push({ name, crc, length: e.data.length, offset });
  }
  const cdOffset = size;
  for (const c of central) {
    const [h, v] = header(46 + c.name.length);
    v.setUint32(0, 0x02014b50, true);
    v.setUint16(4, 20, true);
    v.setUint16(6, 20, true);
    v.setUint16(8, 0x0808, true);
    v.setUint32(16, c.crc, true);
    v.setUint32(20, c.length, true);
    v.setUint32(24, c.length, true);
    v.setUint16(28, c.name.length, true);
    v.setUint32(42, c.offset, true);
    h.set(c.name, 46);
    push(h);
  }
  const [eocd, ev] = header(22);
  ev.setUint32(0, 0x06054b50, true);
  ev.setUint16(8, central.length, true);
  ev.setUint16(10, central.length, true);
  ev.setUint32(12, size - cdOffset, true);
  ev.setUint32(16, cdOffset, true);
  push(eocd);
  const out = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/** Seed inputs, loaded once. */
async function seeds(pthPath) {
  const lib = await core();
  const pth = new Uint8Array(readFileSync(pthPath));
  const zip = await lib.openZip(lib.memorySource(pth, pthPath));
  const entries = [];
  for (const e of zip.entries) entries.push({ name: e.name, data: await zip.readEntry(e), crc: e.crc32 });
  const pklIndex = entries.findIndex((e) => e.name.endsWith('/data.pkl'));
  if (pklIndex < 0) throw new Error(`${pthPath}: no data.pkl`);
  // Central directory start: structure worth mutating more often than tensor data.
  const dv = new DataView(pth.buffer, pth.byteOffset, pth.byteLength);
  let eocd = pth.length - 22;
  while (eocd > 0 && dv.getUint32(eocd, true) !== 0x06054b50) eocd--;
  const cdStart = dv.getUint32(eocd + 16, true);
  const tensors = [
    ['w.f32', { dtype: 'float32', shape: [4, 3], data: new Float32Array(12).map((_, i) => i - 5.5) }],
    ['w.f16', { dtype: 'float16', shape: [5], data: new Uint16Array([0x3c00, 0x7e01, 0x8001, 0, 1]) }],
    ['labels', { dtype: 'int32', shape: [2, 2], data: new Int32Array([1, -1, 7, 0]) }],
    ['mask', { dtype: 'uint8', shape: [7], data: new Uint8Array([1, 0, 1, 1, 0, 0, 1]) }],
    ['empty', { dtype: 'int64', shape: [0, 2], data: new BigInt64Array(0) }],
    ['scalar', { dtype: 'float64', shape: [], data: new Float64Array([Math.PI]) }],
    ['flags', { dtype: 'bool', shape: [3], data: new Uint8Array([1, 0, 1]) }],
    ['bf', { dtype: 'bfloat16', shape: [2, 1], data: new Uint16Array([0x3f80, 0xc000]) }],
  ];
  const safetensors = lib.serializeSafetensors(tensors, { format: 'fuzz' });
  const headerEnd = 8 + Number(new DataView(safetensors.buffer).getBigUint64(0, true));
  return { pth, cdStart, entries, pklIndex, safetensors, headerEnd };
}

function safetensorsHeaderMutation(r, s) {
  const header = JSON.parse(Buffer.from(s.safetensors.subarray(8, s.headerEnd)).toString('utf8'));
  const names = Object.keys(header).filter((k) => k !== '__metadata__');
  const name = names[int(r, names.length)];
  const entry = header[name];
  const DEEP = '"@@deep@@"';
  const choices = [
    ['offsets +1', () => (entry.data_offsets[int(r, 2)] += 1)],
    ['offsets -8', () => (entry.data_offsets[int(r, 2)] -= 8)],
    ['offsets swapped', () => entry.data_offsets.reverse()],
    ['offsets huge', () => (entry.data_offsets[1] = 2 ** 62)],
    ['offsets nested', () => (entry.data_offsets = JSON.parse(DEEP))],
    ['shape nested', () => (entry.shape = JSON.parse(DEEP))],
    ['shape dim', () => entry.shape.push(1 + int(r, 3))],
    ['shape negative', () => (entry.shape[0] = -1)],
    ['shape float', () => (entry.shape = [1.5])],
    ['shape huge', () => (entry.shape = [2 ** 40, 2 ** 40])],
    ['dtype', () => (entry.dtype = ['F32', 'F16', 'U8', 'I64', 'BOOL', 'C64', 7, null][int(r, 8)])],
    ['entry removed', () => delete header[name]],
    ['entry duplicated', () => (header[`${name}.copy`] = { ...entry })],
    ['metadata', () => (header.__metadata__ = { k: [1] })],
    ['long name', () => (header['n'.repeat(1_000_000)] = entry)],
    ['header array', () => (header.__metadata__ = JSON.parse(DEEP))],
  ];
  const [label, apply] = choices[int(r, choices.length)];
  apply();
  const deep = int(r, 200_000);
  const json = Buffer.from(JSON.stringify(header).replace(DEEP, `${'['.repeat(deep)}${']'.repeat(deep)}`));
  const out = new Uint8Array(8 + json.length + (s.safetensors.length - s.headerEnd));
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(s.safetensors.subarray(s.headerEnd), 8 + json.length);
  return { bytes: out, mutation: `header: ${label} (${name})` };
}

function makeCase(seed, index, format, s) {
  const r = rng((seed * 0x9e3779b1 + index * 0x85ebca6b) >>> 0);
  for (let k = 0; k < 4; k++) r(); // decorrelate neighbouring cases
  if (format === 'pth') {
    const region = r() < 0.2 ? [0, s.pth.length] : r() < 0.5 ? [s.cdStart, s.pth.length] : [0, 64 * 1024];
    return mutateBytes(r, s.pth, region[0], region[1]);
  }
  if (format === 'pickle') {
    const pickle = s.entries[s.pklIndex].data;
    let m;
    if (r() < 0.35) {
      const [label, snippet] = SNIPPETS[int(r, SNIPPETS.length)];
      const at = int(r, pickle.length);
      m = { bytes: splice(pickle, at, 0, snippet), mutation: `insert ${label} at ${at}` };
    } else {
      m = mutateBytes(r, pickle);
    }
    const entries = s.entries.map((e, i) => (i === s.pklIndex ? { name: e.name, data: m.bytes } : e));
    return { bytes: writeZip(entries), mutation: `data.pkl: ${m.mutation}` };
  }
  const kind = r();
  if (kind < 0.35) return safetensorsHeaderMutation(r, s);
  return kind < 0.7 ? mutateBytes(r, s.safetensors, 0, s.headerEnd) : mutateBytes(r, s.safetensors, s.headerEnd);
}

// ---------------------------------------------------------------------------------------------
// Parent.

function parseArgs(argv) {
  const opts = { iterations: 200, seed: 1, format: 'all', timeoutMs: 20_000, maxOldSpaceMb: 1024, jobs: 2 };
  const need = (i) => {
    if (i + 1 >= argv.length) usage(`${argv[i]} needs a value`);
    return argv[i + 1];
  };
  const num = (i) => {
    const v = Number(need(i));
    if (!Number.isInteger(v) || v < 0) usage(`${argv[i]} needs a non-negative integer`);
    return v;
  };
  for (let i = 0; i < argv.length; i += 2) {
    switch (argv[i]) {
      case '--iterations':
        opts.iterations = num(i);
        break;
      case '--seed':
        opts.seed = num(i);
        break;
      case '--out':
        opts.out = resolve(need(i));
        break;
      case '--format':
        opts.format = need(i);
        break;
      case '--pth':
        opts.pth = resolve(need(i));
        break;
      case '--timeout-ms':
        opts.timeoutMs = num(i);
        break;
      case '--max-old-space-mb':
        opts.maxOldSpaceMb = num(i);
        break;
      case '--jobs':
        opts.jobs = Math.max(1, num(i));
        break;
      case '--replay':
        opts.replay = resolve(need(i));
        break;
      case '--help':
      case '-h':
        usage();
        break;
      default:
        usage(`unknown option ${argv[i]}`);
    }
  }
  if (!['all', 'pth', 'pickle', 'safetensors'].includes(opts.format)) usage(`--format must be pth, pickle, safetensors or all`);
  if (opts.replay && opts.format === 'all') usage('--replay needs --format pth, pickle or safetensors');
  if (!opts.replay && !opts.out) usage('--out DIR is required (crashing inputs are saved there)');
  opts.pth ??= resolve(ROOT, '../shared/reference/tiny/model.pth');
  return opts;
}

function usage(problem) {
  const text = readFileSync(fileURLToPath(import.meta.url), 'utf8')
    .split('*/')[0]
    .replace(/^#!.*\n\/\*\*\n/, '')
    .replace(/^ \* ?/gm, '');
  if (problem) process.stderr.write(`fuzz-checkpoints: ${problem}\n\n`);
  process.stderr.write(text);
  process.exit(problem ? 2 : 0);
}

function runChild(format, file, opts) {
  return new Promise((done) => {
    const args = [`--max-old-space-size=${opts.maxOldSpaceMb}`, fileURLToPath(import.meta.url), '--child', format, file];
    const proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    proc.stdout.on('data', (d) => (stdout += d));
    proc.stderr.on('data', (d) => (stderr = (stderr + d).slice(-8000)));
    const timer = setTimeout(() => {
      timedOut = true;
      proc.kill('SIGKILL');
    }, opts.timeoutMs);
    const started = performance.now();
    proc.on('close', (code, signal) => {
      clearTimeout(timer);
      let result;
      try {
        result = JSON.parse(stdout.trim().split('\n').pop());
      } catch {
        result = undefined;
      }
      done({ code, signal, timedOut, stderr, result, ms: performance.now() - started });
    });
  });
}

function classify(run, opts) {
  if (run.timedOut) return { kind: 'hang', detail: `killed after ${opts.timeoutMs} ms` };
  if (!run.result) {
    const oom = /heap out of memory|Allocation failed|Invalid array buffer length/i.test(run.stderr);
    return { kind: oom ? 'oom' : 'crash', detail: `exit ${run.code ?? run.signal}: ${run.stderr.trim().split('\n').slice(-3).join(' | ')}` };
  }
  const res = run.result;
  if (res.maxRssKb > 2 * opts.maxOldSpaceMb * 1024) return { kind: 'oom', detail: `peak RSS ${Math.round(res.maxRssKb / 1024)} MB` };
  if (res.outcome === 'crash') return { kind: 'crash', detail: `${res.name}: ${res.message}` };
  if (res.outcome === 'error' && (/[\n\r]/.test(res.message) || res.message.length > MAX_MESSAGE)) {
    return { kind: 'bad-message', detail: `${res.code}: ${res.message.slice(0, 300)}… (${res.message.length} chars)` };
  }
  return undefined;
}

async function main() {
  const argv = process.argv.slice(2);
  if (argv[0] === '--child') return child(argv[1], argv[2]);
  const opts = parseArgs(argv);
  if (opts.replay) {
    process.stdout.write(`${JSON.stringify(await runCase(opts.format, opts.replay))}\n`);
    return;
  }
  const s = await seeds(opts.pth);
  mkdirSync(opts.out, { recursive: true });
  const work = mkdtempSync(join(tmpdir(), 'sedseg-fuzz-'));
  const formats = opts.format === 'all' ? ['pth', 'pickle', 'safetensors'] : [opts.format];
  const outcomes = Object.fromEntries(formats.map((f) => [f, {}]));
  const problems = [];
  const started = performance.now();
  let next = 0;
  const worker = async () => {
    for (;;) {
      const index = next++;
      if (index >= opts.iterations) return;
      const format = formats[index % formats.length];
      const { bytes, mutation } = makeCase(opts.seed, index, format, s);
      const ext = format === 'safetensors' ? 'safetensors' : 'pth';
      const file = join(work, `case-${index}.${ext}`);
      writeFileSync(file, bytes);
      const run = await runChild(format, file, opts);
      const problem = classify(run, opts);
      const tally = outcomes[format];
      const key = problem ? problem.kind : run.result.outcome === 'ok' ? 'ok' : run.result.code;
      tally[key] = (tally[key] ?? 0) + 1;
      if (problem) {
        const base = join(opts.out, `${format}-s${opts.seed}-c${index}`);
        writeFileSync(`${base}.${ext}`, bytes);
        writeFileSync(
          `${base}.json`,
          `${JSON.stringify({ seed: opts.seed, case: index, format, mutation, ...problem, ms: Math.round(run.ms), stderr: run.stderr.slice(-4000), result: run.result }, null, 2)}\n`,
        );
        problems.push({ case: index, format, kind: problem.kind, mutation, file: `${base}.${ext}`, detail: problem.detail.slice(0, 500) });
        process.stderr.write(`case ${index} (${format}): ${problem.kind} — ${mutation}\n`);
      }
      rmSync(file, { force: true });
    }
  };
  await Promise.all(Array.from({ length: opts.jobs }, worker));
  rmSync(work, { recursive: true, force: true });
  const summary = {
    seed: opts.seed,
    iterations: opts.iterations,
    elapsedSeconds: +((performance.now() - started) / 1000).toFixed(1),
    outcomes,
    problems,
  };
  process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
  process.exitCode = problems.length > 0 ? 1 : 0;
}

let crcTable;
/** CRC-32 (zip), for the mutated data.pkl (storages keep the CRCs of the seed archive). */
function crc32(data) {
  if (!crcTable) {
    crcTable = new Int32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c;
    }
  }
  let c = -1;
  for (let i = 0; i < data.length; i++) c = crcTable[(c ^ data[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

main().catch((e) => {
  process.stderr.write(`fuzz-checkpoints: ${e.stack ?? e}\n`);
  process.exit(2);
});
