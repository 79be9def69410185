/** The output folder is checked without creating anything, and kernel filesystems are refused. */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkOutputDir, createOutputDir } from '../src/output-dir.js';

const root = mkdtempSync(join(tmpdir(), 'sedseg-outdir-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('output folder', () => {
  it('an existing folder is used as is', async () => {
    expect(await checkOutputDir(root)).toEqual({ dir: root, exists: true });
  });

  it('a missing folder is only checked (its nearest existing ancestor), then created on demand', async () => {
    const dir = join(root, 'a', 'b', 'c');
    const check = await checkOutputDir(dir);
    expect(check.exists).toBe(false);
    expect(existsSync(join(root, 'a'))).toBe(false);
    await createOutputDir(check);
    expect(existsSync(dir)).toBe(true);
  });

  it('a file on the way is named', async () => {
    writeFileSync(join(root, 'file'), 'x');
    await expect(checkOutputDir(join(root, 'file'))).rejects.toThrow(/file: cannot write outputs there \(not a folder\)/);
    await expect(checkOutputDir(join(root, 'file', 'sub', 'deeper'))).rejects.toThrow(/cannot write outputs there \(.*file is not a folder\)/);
  });

  it.runIf(process.platform === 'linux' && existsSync('/proc/self'))('/proc and /sys are refused at once, without creating anything', async () => {
    const started = performance.now();
    await expect(checkOutputDir('/proc/sedseg-out/x')).rejects.toThrow(/\/proc\/sedseg-out\/x: cannot write outputs there \(\/proc is the kernel's/);
    await expect(checkOutputDir('/proc/self/fd')).rejects.toThrow(/cannot write outputs there/);
    if (existsSync('/sys')) await expect(checkOutputDir('/sys/sedseg-out')).rejects.toThrow(/\/sys is the kernel's/);
    expect(performance.now() - started).toBeLessThan(1000);
    expect(existsSync('/proc/sedseg-out')).toBe(false);
  });
});
