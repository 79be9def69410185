/** Files written through a temporary file and moved into place (never half a file, never through a link). */
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { entryExists, stageFile, writeFileAtomic } from '../src/node/atomic-write.js';

const root = mkdtempSync(join(tmpdir(), 'sedseg-atomic-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const fresh = (): string => {
  const dir = join(root, `case-${n++}`);
  mkdirSync(dir);
  return dir;
};

describe('atomic writes', () => {
  it('writes the file and leaves no temporary file', async () => {
    const dir = fresh();
    await writeFileAtomic(join(dir, 'a.json'), '{"a":1}', { overwrite: false });
    expect(readFileSync(join(dir, 'a.json'), 'utf8')).toBe('{"a":1}');
    expect(readdirSync(dir)).toEqual(['a.json']);
  });

  it('a staged file is under another name until committed', async () => {
    const dir = fresh();
    const staged = await stageFile(join(dir, 'b.png'), new Uint8Array([1, 2, 3]));
    expect(existsSync(join(dir, 'b.png'))).toBe(false);
    expect(readdirSync(dir)).toHaveLength(1);
    await staged.discard();
    expect(readdirSync(dir)).toEqual([]);
  });

  it('without overwrite, any existing entry wins, a dangling symbolic link included', async () => {
    const dir = fresh();
    writeFileSync(join(dir, 'kept.json'), 'old');
    await expect(writeFileAtomic(join(dir, 'kept.json'), 'new', { overwrite: false })).rejects.toThrow(
      /kept\.json exists \(pass overwrite: true to replace it\)/,
    );
    expect(readFileSync(join(dir, 'kept.json'), 'utf8')).toBe('old');
    symlinkSync(join(dir, 'target.json'), join(dir, 'link.json'));
    expect(await entryExists(join(dir, 'link.json'))).toBe(true);
    await expect(writeFileAtomic(join(dir, 'link.json'), 'new', { overwrite: false })).rejects.toThrow(/link\.json exists/);
    expect(existsSync(join(dir, 'target.json'))).toBe(false);
    expect(readdirSync(dir).sort()).toEqual(['kept.json', 'link.json']);
  });

  it('with overwrite, a symbolic link is replaced, not written through', async () => {
    const dir = fresh();
    writeFileSync(join(dir, 'mine.txt'), 'precious');
    symlinkSync(join(dir, 'mine.txt'), join(dir, 'out.json'));
    symlinkSync(join(dir, 'nowhere.txt'), join(dir, 'dangling.json'));
    await writeFileAtomic(join(dir, 'out.json'), 'result', { overwrite: true });
    await writeFileAtomic(join(dir, 'dangling.json'), 'result', { overwrite: true });
    expect(readFileSync(join(dir, 'mine.txt'), 'utf8')).toBe('precious');
    expect(lstatSync(join(dir, 'out.json')).isFile()).toBe(true);
    expect(lstatSync(join(dir, 'dangling.json')).isFile()).toBe(true);
    expect(existsSync(join(dir, 'nowhere.txt'))).toBe(false);
  });

  it('a folder in the way is a one-line E_IO error, and the temporary file is removed', async () => {
    const dir = fresh();
    mkdirSync(join(dir, 'x.json'));
    writeFileSync(join(dir, 'x.json', 'inside'), '');
    await expect(writeFileAtomic(join(dir, 'x.json'), 'y', { overwrite: true })).rejects.toMatchObject({
      code: 'E_IO',
      message: expect.stringMatching(/x\.json: cannot write \(a folder is in the way\)/),
    });
    expect(readdirSync(dir)).toEqual(['x.json']);
  });

  it('a missing folder is an E_IO error naming the file', async () => {
    await expect(writeFileAtomic(join(root, 'no-such-dir', 'z.png'), 'z', { overwrite: false })).rejects.toMatchObject({
      code: 'E_IO',
      message: expect.stringMatching(/z\.png: cannot write/),
    });
  });
});
