/**
 * `sedseg segment` against hostile inputs and places (tracker issue 8 §4, §5.9–5.11): checked
 * before anything is created, outputs that never collide and are written all or nothing, limits
 * on resolution, threads and image size, corrupt images, and a terminal without a size.
 */
import { spawnSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { deflateSync } from 'node:zlib';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serializeSafetensors } from '@sedseg/core';
import { CLI, REFERENCE_DIR, runCli } from './run-cli.js';

const TINY = resolve(REFERENCE_DIR, 'tiny/model.pth');
const work = mkdtempSync(join(tmpdir(), 'sedseg-robust-'));
const cache = join(work, 'cache');
afterAll(() => rmSync(work, { recursive: true, force: true }));
const base = ['--weights', TINY, '--resolution', '64', '--cache-dir', cache];

const images = join(work, 'images');
const street = join(images, 'street.png');
const fine = join(images, 'fine.png');

/** A smooth synthetic RGB picture. */
function picture(width: number, height: number): Buffer {
  const data = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      data[i] = (x * 255) / width;
      data[i + 1] = (y * 255) / height;
      data[i + 2] = ((x + y) * 127) / (width + height);
    }
  return data;
}
const raw = (w: number, h: number) => sharp(picture(w, h), { raw: { width: w, height: h, channels: 3 } });

function crc32(bytes: Uint8Array): number {
  let c = ~0;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return ~c >>> 0;
}

/** A PNG whose header says width × height (its pixel data is a few bytes: never decoded here). */
function pngHeaderOnly(width: number, height: number): Buffer {
  const chunk = (type: string, data: Buffer): Buffer => {
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const out = Buffer.alloc(body.length + 8);
    out.writeUInt32BE(data.length, 0);
    body.copy(out, 4);
    out.writeUInt32BE(crc32(body), body.length + 4);
    return out;
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8); // 8-bit RGB
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(Buffer.alloc(16))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** A valid baseline JPEG with bytes in the middle of its entropy-coded scan overwritten. */
async function corruptJpeg(): Promise<Buffer> {
  const w = 64;
  const noise = Buffer.alloc(w * w * 3);
  for (let i = 0; i < noise.length; i++) noise[i] = (i * 7) % 251;
  const jpeg = Buffer.from(
    await sharp(noise, { raw: { width: w, height: w, channels: 3 } })
      .jpeg({ quality: 90 })
      .toBuffer(),
  );
  const sos = jpeg.indexOf(Buffer.from([0xff, 0xda]));
  const scanStart = sos + 2 + jpeg.readUInt16BE(sos + 2);
  const middle = Math.floor((scanStart + jpeg.length - 2) / 2);
  for (let i = middle; i < middle + 32; i++) jpeg[i] = (i * 37) & 0x7f; // no 0xFF: no accidental marker
  return jpeg;
}

const lines = (s: string): string[] =>
  s
    .trim()
    .split('\n')
    .filter((l) => l !== '');
const visible = (dir: string): string[] => readdirSync(dir).sort();

beforeAll(async () => {
  mkdirSync(images);
  await raw(64, 48).png().toFile(street);
  await raw(32, 32).png().toFile(fine);
});

describe('sedseg segment: nothing is created before everything is checked', () => {
  it.runIf(process.platform === 'linux')('--out or --cache-dir under /proc or /sys is refused in one line at once (mkdir -p there never returned)', () => {
    for (const out of ['/proc/sedseg-test-out', '/sys/sedseg-test-out/x']) {
      const started = Date.now();
      const r = runCli(['segment', street, ...base, '--classes', 'a', '--out', out]);
      expect(r.code, r.stderr).toBe(1);
      expect(lines(r.stderr)).toHaveLength(1);
      expect(r.stderr).toMatch(new RegExp(`${out}: cannot write outputs there \\(/(proc|sys) is the kernel's`));
      expect(Date.now() - started).toBeLessThan(15_000);
    }
    const cacheOut = join(work, 'proc-cache-out');
    const r = runCli(['segment', street, '--weights', TINY, '--resolution', '64', '--classes', 'a', '--out', cacheOut, '--cache-dir', '/proc/sedseg-cache']);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr.trim()).toBe(
      "sedseg: error: /proc/sedseg-cache: cannot write the class-embedding cache there (/proc is the kernel's, not a place for files)",
    );
    expect(existsSync(cacheOut)).toBe(false);
  });

  it('weights that are not a checkpoint, or not SED, leave no output folder behind', () => {
    const notWeights = join(work, 'weights.txt');
    writeFileSync(notWeights, 'not weights at all');
    const openclip = join(work, 'openclip.safetensors');
    writeFileSync(openclip, serializeSafetensors({ 'visual.trunk.stem.0.weight': { dtype: 'float32', shape: [2], data: new Float32Array(2) } }));
    for (const [weights, message] of [
      [notWeights, /weights\.txt: not a weights file/],
      [openclip, /not a SED checkpoint/],
    ] as const) {
      const out = join(work, 'never-created', 'out');
      const r = runCli(['segment', street, '--weights', weights, '--classes', 'a', '--out', out]);
      expect(r.code).toBe(1);
      expect(lines(r.stderr)).toHaveLength(1);
      expect(r.stderr).toMatch(message);
      expect(existsSync(join(work, 'never-created'))).toBe(false);
    }
  });

  it.runIf(process.platform !== 'win32')('a FIFO given as weights is refused without blocking', () => {
    const fifo = join(work, 'weights.fifo');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    const r = runCli(['segment', street, '--weights', fifo, '--classes', 'a', '--out', join(work, 'fifo-out')]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe(`sedseg: error: ${fifo}: cannot open (a FIFO (named pipe), not a regular file)`);
  });
});

describe('sedseg segment: output names', () => {
  it('photo.avif and photo.gif in one folder are both segmented, under their full file names', async () => {
    const dir = join(work, 'same-stem');
    mkdirSync(dir);
    await raw(40, 30).avif().toFile(join(dir, 'photo.avif'));
    await raw(40, 30).gif().toFile(join(dir, 'photo.gif'));
    await raw(40, 30).png().toFile(join(dir, 'other.png'));
    const out = join(work, 'same-stem-out');
    const r = runCli(['segment', dir, ...base, '--classes', 'car, road', '--out', out]);
    expect(r.stderr).not.toMatch(/error/);
    expect(r.code).toBe(0);
    expect(visible(out)).toEqual(['other', 'photo.avif', 'photo.gif'].flatMap((n) => [`${n}.json`, `${n}.labels.png`, `${n}.overlay.png`]).sort());
    expect(JSON.parse(readFileSync(join(out, 'photo.gif.json'), 'utf8')).image).toBe(join(dir, 'photo.gif'));
  });

  it('the same file name in two folders: named by the path from their common folder', async () => {
    const root = join(work, 'two-folders');
    for (const sub of ['a', 'b']) {
      mkdirSync(join(root, sub), { recursive: true });
      await raw(24, 24)
        .png()
        .toFile(join(root, sub, 'photo.png'));
    }
    const out = join(work, 'two-folders-out');
    const r = runCli(['segment', join(root, '*', 'photo.png'), ...base, '--classes', 'car', '--out', out, '--format', 'json']);
    expect(r.code, r.stderr).toBe(0);
    expect(visible(out)).toEqual(['a_photo.png.json', 'b_photo.png.json']);
    expect(JSON.parse(readFileSync(join(out, 'b_photo.png.json'), 'utf8')).image).toBe(join(root, 'b', 'photo.png'));
  });

  it('--help states the naming rule and every limit', () => {
    const r = runCli(['segment', '--help']);
    expect(r.code).toBe(0);
    for (const text of [
      'keep their extension',
      'a_photo.jpg',
      '--max-resolution R',
      '--max-pixels N',
      '--strict',
      '--threads N',
      'lowered to their number',
      '/proc, /sys',
    ]) {
      expect(r.stdout).toContain(text);
    }
  });
});

describe('sedseg segment: what the output lines say', () => {
  it('"1 class", synonyms joined with "|", names trimmed on screen but exact in the JSON', () => {
    const file = join(work, 'classes.json');
    writeFileSync(file, JSON.stringify(['person, people']));
    const out = join(work, 'lines-out');
    const one = runCli(['segment', street, ...base, '--classes-file', file, '--out', out]);
    expect(one.code, one.stderr).toBe(0);
    expect(one.stdout).toMatch(/street\.png → .*street\.labels\.png \(1 class: person\|people 100\.0%; /);
    expect(JSON.parse(readFileSync(join(out, 'street.json'), 'utf8')).present[0].name).toBe('person, people');

    writeFileSync(file, JSON.stringify(['bed ']));
    const bed = runCli(['segment', street, ...base, '--classes-file', file, '--out', out, '--overwrite']);
    expect(bed.code, bed.stderr).toBe(0);
    expect(bed.stdout).toMatch(/\(1 class: bed 100\.0%; /);
    expect(JSON.parse(readFileSync(join(out, 'street.json'), 'utf8')).classes[0].name).toBe('bed ');
  });
});

describe('sedseg segment: writing outputs', () => {
  it('a folder at an output path fails that image only: one line, none of its outputs left, the others written', () => {
    const out = join(work, 'eisdir-out');
    mkdirSync(join(out, 'street.json'), { recursive: true });
    writeFileSync(join(out, 'street.json', 'mine.txt'), 'keep');
    const r = runCli(['segment', street, fine, ...base, '--classes', 'car, road', '--out', out, '--overwrite']);
    expect(r.code).toBe(1);
    expect(r.stderr).not.toMatch(/internal error|\n\s+at /);
    expect(lines(r.stderr)[0]).toBe(`sedseg segment: ${join(out, 'street.json')}: cannot write (a folder is in the way)`);
    expect(visible(out)).toEqual(['fine.json', 'fine.labels.png', 'fine.overlay.png', 'street.json']);
    expect(readdirSync(join(out, 'street.json'))).toEqual(['mine.txt']);
    expect(r.stderr).toMatch(/segmented 1 of 2 input\(s\)/);
  });

  it('a dangling symbolic link at an output path counts as existing; --overwrite replaces the link itself', () => {
    const out = join(work, 'symlink-out');
    mkdirSync(out);
    const target = join(work, 'symlink-target.png');
    symlinkSync(target, join(out, 'street.labels.png'));
    const refused = runCli(['segment', street, ...base, '--classes', 'car', '--out', out]);
    expect(refused.code).toBe(1);
    expect(refused.stderr.trim()).toBe(`sedseg: error: ${join(out, 'street.labels.png')} exists (use --overwrite to replace it)`);
    expect(existsSync(target)).toBe(false);
    expect(visible(out)).toEqual(['street.labels.png']);

    const replaced = runCli(['segment', street, ...base, '--classes', 'car', '--out', out, '--overwrite']);
    expect(replaced.code, replaced.stderr).toBe(0);
    expect(lstatSync(join(out, 'street.labels.png')).isFile()).toBe(true);
    expect(existsSync(target)).toBe(false);
    expect(visible(out)).toEqual(['street.json', 'street.labels.png', 'street.overlay.png']);
  });
});

describe('sedseg segment: limits on the command line and on images', () => {
  const refusals: [string, string[], RegExp][] = [
    ['--resolution 99968', ['--resolution', '99968'], /^sedseg segment: --resolution 99968 is above the limit of 2048 \(.*8192 is the most possible\)/],
    ['--resolution 4096', ['--resolution', '4096'], /--resolution 4096 is above the limit of 2048 \(.*--max-resolution 4096 raises the limit/],
    ['--max-resolution 9000', ['--resolution', '4096', '--max-resolution', '9000'], /--max-resolution must be at most 8192, got 9000/],
    ['--threads 100000', ['--threads', '100000'], /--threads 100000 is not a thread count \(at most 1024; this machine has \d+ CPUs\)/],
    ['--max-pixels 0', ['--max-pixels', '0'], /--max-pixels must be a positive number of pixels/],
    ['--max-pixels 2000M', ['--max-pixels', '2000M'], /--max-pixels must be at most 1000M/],
  ];
  it.each(refusals)('%s is a usage error in one line', (_what, args, message) => {
    const r = runCli(['segment', street, '--weights', TINY, '--classes', 'a', ...args]);
    expect(r.code).toBe(2);
    expect(lines(r.stderr)).toHaveLength(1);
    expect(r.stderr).toMatch(message);
  });

  it('--resolution above 2048 is accepted when --max-resolution allows it', () => {
    // 2080 is checked, not run: a missing image stops the command right after the checks
    const r = runCli(['segment', join(work, 'missing.png'), '--weights', TINY, '--classes', 'a', '--resolution', '2080', '--max-resolution', '2080']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/missing\.png: cannot open/);
  });

  it.runIf(availableParallelism() < 64)('--threads above the CPU count is lowered to it, with a notice', () => {
    const out = join(work, 'threads-out');
    const r = runCli(['segment', street, ...base, '--classes', 'car', '--out', out, '--threads', '64']);
    expect(r.code, r.stderr).toBe(0);
    expect(lines(r.stderr)[0]).toBe(
      `sedseg segment: --threads 64 lowered to ${availableParallelism()}, the number of CPUs (more threads only wait for each other)`,
    );
  });

  it.runIf(process.platform !== 'win32')('a FIFO among the images is refused in one line, the others are segmented', () => {
    const dir = join(work, 'with-fifo');
    mkdirSync(dir);
    expect(spawnSync('mkfifo', [join(dir, 'pipe.png')]).status).toBe(0);
    const r = runCli(['segment', join(dir, 'pipe.png'), street, ...base, '--classes', 'car', '--out', join(work, 'fifo-images-out')]);
    expect(r.code).toBe(1);
    expect(lines(r.stderr)[0]).toBe(`sedseg segment: ${join(dir, 'pipe.png')}: a FIFO (named pipe), not an image file`);
    expect(r.stdout).toMatch(/street\.png →/);
  });

  it('an image above the pixel limit is refused from its header, naming its size and the limit', () => {
    const dir = join(work, 'huge');
    mkdirSync(dir);
    writeFileSync(join(dir, 'scan.png'), pngHeaderOnly(16000, 16000)); // 256 megapixels in 50 bytes
    const out = join(work, 'huge-out');
    const started = Date.now();
    const r = runCli(['segment', join(dir, 'scan.png'), street, ...base, '--classes', 'car', '--out', out]);
    expect(r.code).toBe(1);
    expect(lines(r.stderr)[0]).toBe(
      `sedseg segment: ${join(dir, 'scan.png')}: 16000×16000 is 256 megapixels, above the limit of 100 megapixels (--max-pixels raises it)`,
    );
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(visible(out)).toEqual(['street.json', 'street.labels.png', 'street.overlay.png']);
    // the limit is the user's to set: 64×48 = 3072 pixels
    const small = runCli(['segment', street, ...base, '--classes', 'car', '--out', join(work, 'huge-out2'), '--max-pixels', '3000']);
    expect(small.code).toBe(1);
    expect(small.stderr).toMatch(/street\.png: 64×48 is 3,072 pixels, above the limit of 3,000 pixels/);
    expect(runCli(['segment', street, ...base, '--classes', 'car', '--out', join(work, 'huge-out3'), '--max-pixels', '3072']).code).toBe(0);
  });
});

describe('sedseg segment: corrupt image data (§5.11)', () => {
  let corrupt: string;
  beforeAll(async () => {
    corrupt = join(work, 'corrupt.jpg');
    writeFileSync(corrupt, await corruptJpeg());
  });

  it('is segmented with a warning: one line on stderr and a warnings array in the JSON', () => {
    const out = join(work, 'corrupt-out');
    const r = runCli(['segment', corrupt, ...base, '--classes', 'car', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    const warning = lines(r.stderr).filter((l) => /warning/.test(l));
    expect(warning).toHaveLength(1);
    expect(warning[0]).toMatch(
      /^sedseg segment: warning: .*corrupt\.jpg: bad image data, segmented anyway \(the decoder warned: .*Corrupt JPEG data.*\); --strict refuses such images$/,
    );
    const json = JSON.parse(readFileSync(join(out, 'corrupt.json'), 'utf8'));
    expect(json.warnings.length).toBeGreaterThan(0);
    expect(json.warnings.join(' ')).toMatch(/Corrupt JPEG data/);
    const clean = runCli(['segment', street, ...base, '--classes', 'car', '--out', out]);
    expect(JSON.parse(readFileSync(join(out, 'street.json'), 'utf8')).warnings).toEqual([]);
    expect(clean.stderr).not.toMatch(/warning/);
  });

  it('--strict makes it a failure of that image', () => {
    const out = join(work, 'corrupt-strict');
    const r = runCli(['segment', corrupt, street, ...base, '--classes', 'car', '--out', out, '--strict', '--json']);
    expect(r.code).toBe(1);
    const events = lines(r.stdout).map((l) => JSON.parse(l));
    expect(events[0]).toMatchObject({
      event: 'error',
      input: corrupt,
      message: expect.stringMatching(/corrupt\.jpg: bad image data \(the decoder warned: .*Corrupt JPEG data.*\); refused by --strict/),
    });
    expect(events.at(-1)).toMatchObject({ event: 'done', segmented: 1, failed: 1 });
    expect(visible(out)).toEqual(['street.json', 'street.labels.png', 'street.overlay.png']);
  });
});

const utilLinuxScript = process.platform === 'linux' && /util-linux/.test(spawnSync('script', ['--version'], { encoding: 'utf8' }).stdout ?? '');

describe('sedseg segment: progress on a terminal', () => {
  it.skipIf(!utilLinuxScript)('under `script -qc` (a pty reporting 0 columns) the progress line draws and the run succeeds', () => {
    const q = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;
    const out = join(work, 'tty-out');
    const command = [process.execPath, CLI, 'segment', street, fine, ...base, '--classes', 'car, road', '--out', out].map(q).join(' ');
    const r = spawnSync('script', ['-qec', command, '/dev/null'], { encoding: 'utf8', timeout: 60_000 });
    expect(r.stdout).not.toMatch(/RangeError|internal error/);
    expect(r.status, r.stdout).toBe(0);
    expect(r.stdout).toMatch(/image 2\/2 · /);
    expect(r.stdout).toMatch(/\r\x1b\[K/);
    expect(visible(out)).toHaveLength(6);
  });
});
