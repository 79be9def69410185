/** How `sedseg segment` expands its image arguments: files, folders and glob patterns. */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expandImageInputs } from '../src/image-inputs.js';

const root = mkdtempSync(join(tmpdir(), 'sedseg-inputs-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

beforeAll(() => {
  for (const f of ['a.png', 'b.jpg', 'notes.txt', '.hidden.png', 'sub/c.png', 'sub/deep/d.png', 'sub/deep/e.jpg', '.git/x.png']) {
    const path = join(root, f);
    mkdirSync(join(path, '..'), { recursive: true });
    writeFileSync(path, 'x');
  }
});

describe('image inputs', () => {
  it('a folder gives the images directly inside it, sorted', async () => {
    const { files, problems } = await expandImageInputs([root]);
    expect(files).toEqual([join(root, 'a.png'), join(root, 'b.jpg')]);
    expect(problems).toEqual([]);
  });

  it('* and ? match within a name, hidden files only when asked', async () => {
    expect((await expandImageInputs([join(root, '*.png')])).files).toEqual([join(root, 'a.png')]);
    expect((await expandImageInputs([join(root, '?.jpg')])).files).toEqual([join(root, 'b.jpg')]);
    expect((await expandImageInputs([join(root, '.*.png')])).files).toEqual([join(root, '.hidden.png')]);
    expect((await expandImageInputs([join(root, '*/c.png')])).files).toEqual([join(root, 'sub', 'c.png')]);
  });

  it('** matches any depth of folders (not hidden ones)', async () => {
    const { files } = await expandImageInputs([join(root, '**', '*.png')]);
    expect(files).toEqual([join(root, 'a.png'), join(root, 'sub', 'c.png'), join(root, 'sub', 'deep', 'd.png')]);
    expect((await expandImageInputs([join(root, 'sub', '**', '*.jpg')])).files).toEqual([join(root, 'sub', 'deep', 'e.jpg')]);
  });

  it('reports patterns that match nothing and missing files, and segments a file named twice once', async () => {
    const { files, problems } = await expandImageInputs([
      join(root, '*.gif'),
      join(root, 'nope', '*.png'),
      join(root, 'missing.png'),
      join(root, 'a.png'),
      join(root, 'a.png'),
    ]);
    expect(files).toEqual([join(root, 'a.png')]);
    expect(problems.map((p) => p.message)).toEqual([
      `${join(root, '*.gif')}: no file matches`,
      `${join(root, 'nope', '*.png')}: no such folder for the pattern`,
      `${join(root, 'missing.png')}: cannot open (no such file)`,
    ]);
  });

  const hasMkfifo = process.platform !== 'win32' && spawnSync('sh', ['-c', 'command -v mkfifo']).status === 0;
  it.skipIf(!hasMkfifo)('refuses FIFOs, named or in a folder, without opening them (reading one would block)', async () => {
    const dir = join(root, 'pipes');
    mkdirSync(dir);
    writeFileSync(join(dir, 'ok.png'), 'x');
    expect(spawnSync('mkfifo', [join(dir, 'pipe.png'), join(root, 'named.jpg')]).status).toBe(0);
    const { files, problems } = await expandImageInputs([dir, join(root, 'named.jpg')]);
    expect(files).toEqual([join(dir, 'ok.png')]);
    expect(problems.map((p) => p.message)).toEqual([
      `${join(dir, 'pipe.png')}: a FIFO (named pipe), not an image file`,
      `${join(root, 'named.jpg')}: a FIFO (named pipe), not an image file`,
    ]);
  });
});
