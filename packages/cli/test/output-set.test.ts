/** One image's outputs: all written and moved into place, or none. */
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { OutputSet } from '../src/output-set.js';

const root = mkdtempSync(join(tmpdir(), 'sedseg-atomic-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const fresh = (): string => {
  const dir = join(root, `case-${n++}`);
  mkdirSync(dir);
  return dir;
};

describe('output set (one image)', () => {
  it('moves every file into place', async () => {
    const dir = fresh();
    const set = new OutputSet({ overwrite: false });
    await set.add(join(dir, 'a.labels.png'), 'l');
    await set.add(join(dir, 'a.json'), 'j');
    expect(readdirSync(dir).filter((f) => !f.startsWith('.'))).toEqual([]);
    await set.commit();
    expect(readdirSync(dir).sort()).toEqual(['a.json', 'a.labels.png']);
  });

  it('when one file cannot be placed, the ones already placed and the temporary files are removed', async () => {
    const dir = fresh();
    mkdirSync(join(dir, 'a.json'));
    writeFileSync(join(dir, 'a.json', 'keep'), '');
    const set = new OutputSet({ overwrite: true });
    await set.add(join(dir, 'a.labels.png'), 'l');
    await set.add(join(dir, 'a.overlay.png'), 'o');
    await set.add(join(dir, 'a.json'), 'j');
    await expect(set.commit()).rejects.toThrow(/a\.json: cannot write/);
    expect(readdirSync(dir)).toEqual(['a.json']);
    expect(readdirSync(join(dir, 'a.json'))).toEqual(['keep']);
  });

  it('abort removes what was staged', async () => {
    const dir = fresh();
    const set = new OutputSet({ overwrite: false });
    await set.add(join(dir, 'a.labels.png'), 'l');
    await expect(set.add(join(dir, 'missing', 'a.json'), 'j')).rejects.toThrow(/a\.json: cannot write/);
    await set.abort();
    expect(readdirSync(dir)).toEqual([]);
  });
});
